"""The Slack adapter: Bolt (AsyncApp) in Socket Mode or over HTTP; the core never sees Slack."""
