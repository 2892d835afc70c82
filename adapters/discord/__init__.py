"""The Discord adapter: a discord.py client; tickets are forum posts in the staff channel."""
