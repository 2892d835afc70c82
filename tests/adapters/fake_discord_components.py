"""Components in the fake Discord: the limits Discord checks when an app answers with a form
or a select menu, and the server's other text channels with what the bot may do in them.
Facts followed (discord-api-docs: Interactions - Receiving and Responding; Message Components;
Channels - permission overwrites; Permissions):

- a modal (callback type 9) has a custom_id of at most 100 characters, a title of at most 45
  and 1 to 5 components; a text input's label has at most 45 characters, its max_length at
  most 4,000;
- a string select has 1 to 25 options; an option's label and value at most 100 characters,
  the placeholder at most 150; an emoji is a Unicode emoji (by name) or a custom one (by id);
- a channel's permission overwrites deny or allow bits for a role (type 0) or a member
  (type 1): VIEW_CHANNEL is 1 << 10, SEND_MESSAGES 1 << 11.
Past those limits Discord answers 400 Invalid Form Body (50035)."""

from __future__ import annotations

from typing import Any

from tests.adapters.fake_discord_store import invalid_form

VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
TITLE_CHARS = 45
LABEL_CHARS = 45
MAX_FIELDS = 5
MAX_OPTIONS = 25
OPTION_CHARS = 100


def text_channel(
    channel: int, guild: int, name: str, deny_role: int = 0, deny: int = 0
) -> dict[str, Any]:
    """A guild text channel as GUILD_CREATE lists it; `deny` bits are denied to the role
    `deny_role` (the bot's, say)."""
    overwrites = (
        [{"id": str(deny_role), "type": 0, "allow": "0", "deny": str(deny)}] if deny else []
    )
    return {
        "id": str(channel),
        "type": 0,
        "name": name,
        "position": 10,
        "permission_overwrites": overwrites,
        "nsfw": False,
        "guild_id": str(guild),
    }


def callback_refusal(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 400 body Discord answers an interaction callback with, or None when it is fine."""
    data = body.get("data") or {}
    if body.get("type") == 9:
        return _modal_refusal(data)
    for row in data.get("components") or []:
        for item in row.get("components") or []:
            if item.get("type") == 3 and (refused := _select_refusal(item)) is not None:
                return refused
    return None


def _modal_refusal(data: dict[str, Any]) -> dict[str, Any] | None:
    if len(str(data.get("custom_id", ""))) > 100:
        return invalid_form("data.custom_id", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer.")
    if not 0 < len(str(data.get("title", ""))) <= TITLE_CHARS:
        why = f"Must be between 1 and {TITLE_CHARS} in length."
        return invalid_form("data.title", "BASE_TYPE_BAD_LENGTH", why)
    rows = data.get("components") or []
    if not 0 < len(rows) <= MAX_FIELDS:
        why = f"Must be between 1 and {MAX_FIELDS} in length."
        return invalid_form("data.components", "BASE_TYPE_BAD_LENGTH", why)
    for row in rows:
        for item in row.get("components") or [row.get("component") or {}]:
            label = str(item.get("label") or row.get("label") or "")
            if not 0 < len(label) <= LABEL_CHARS:
                why = f"Must be between 1 and {LABEL_CHARS} in length."
                return invalid_form("data.components.label", "BASE_TYPE_BAD_LENGTH", why)
            if int(item.get("max_length") or 0) > 4000:
                why = "int value should be less than or equal to 4000."
                return invalid_form("data.components.max_length", "NUMBER_TYPE_MAX", why)
    return None


def _select_refusal(select: dict[str, Any]) -> dict[str, Any] | None:
    options = select.get("options") or []
    if not 0 < len(options) <= MAX_OPTIONS:
        why = f"Must be between 1 and {MAX_OPTIONS} in length."
        return invalid_form("components.options", "BASE_TYPE_BAD_LENGTH", why)
    if len(str(select.get("placeholder") or "")) > 150:
        return invalid_form("components.placeholder", "BASE_TYPE_MAX_LENGTH", "Must be 150.")
    for option in options:
        if any(not 0 < len(str(option.get(k, ""))) <= OPTION_CHARS for k in ("label", "value")):
            why = f"Must be between 1 and {OPTION_CHARS} in length."
            return invalid_form("components.options.label", "BASE_TYPE_BAD_LENGTH", why)
        emoji = option.get("emoji") or {}
        if emoji and not emoji.get("id") and str(emoji.get("name", "")).isascii():
            return invalid_form(
                "components.options.emoji.name", "BUTTON_COMPONENT_INVALID_EMOJI", "Invalid emoji"
            )
    return None
