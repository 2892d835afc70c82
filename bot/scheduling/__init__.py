"""The clock of the desk: APScheduler wakes the reminder runner every few seconds and at
DIGEST_TIME, and the runner fires whatever fell due (bot.desk.reminders says what each does)."""
