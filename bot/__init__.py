"""supportbot: a support desk that lives inside team chat (platform-neutral core)."""
