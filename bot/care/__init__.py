"""The time-driven half of the desk: after-care follow-ups, response targets, idle tickets,
the leads' digest, and the tick that fires whatever fell due."""
