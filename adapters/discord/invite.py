"""The invite link with exactly the permissions and scopes supportbot uses."""

from __future__ import annotations

import base64
import binascii

from bot.config import ConfigError

# what each permission is for, so an operator can see why it is asked
PERMISSIONS = {
    "Manage Channels (create the forum's status tags once)": 1 << 4,
    "Add Reactions (mark delivered replies and internal notes)": 1 << 6,
    "View Channels": 1 << 10,
    "Send Messages (panels, replies to customers)": 1 << 11,
    "Embed Links (ticket cards)": 1 << 14,
    "Read Message History": 1 << 16,
    "Manage Threads (archive closed tickets, set tags)": 1 << 34,
    "Create Public Threads (a forum post per ticket)": 1 << 35,
    "Send Messages in Threads": 1 << 38,
}
SCOPES = "bot+applications.commands"


def application_id(token: str) -> int:
    """A bot token starts with the bot's id in base64; for bots it is the application id."""
    head = token.split(".")[0]
    try:
        return int(base64.b64decode(head + "=" * (-len(head) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ConfigError(
            "DISCORD_BOT_TOKEN", "is not a bot token (Developer Portal -> Bot -> Reset Token)"
        ) from None


def invite_url(token: str) -> str:
    permissions = sum(PERMISSIONS.values())
    return (
        "https://discord.com/oauth2/authorize"
        f"?client_id={application_id(token)}&scope={SCOPES}&permissions={permissions}"
    )
