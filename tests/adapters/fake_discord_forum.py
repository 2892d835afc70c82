"""Forum tags in the fake Discord, within Discord's limits (discord-api-docs, Channels: Modify
Channel and the forum tag object): a forum offers at most 20 tags (`available_tags`), a tag's
name has at most 20 characters, and a post carries at most 5 of the forum's tags
(`applied_tags`). Past those Discord answers 400 Invalid Form Body (50035). Modify Channel
replaces the whole list: a tag sent without an id is new, one left out is gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.adapters.fake_discord_store import invalid_form

MAX_AVAILABLE = 20
MAX_APPLIED = 5
NAME_CHARS = 20


def new_forum_tags(
    sent: list[dict[str, Any]], next_id: Callable[[], int]
) -> list[dict[str, Any]] | dict[str, Any]:
    """The forum's tags after Modify Channel sent `sent`, or the 400 body refusing them."""
    if len(sent) > MAX_AVAILABLE:
        why = f"Must be {MAX_AVAILABLE} or fewer in length."
        return invalid_form("available_tags", "BASE_TYPE_MAX_LENGTH", why)
    for tag in sent:
        if len(str(tag.get("name", ""))) > NAME_CHARS:
            why = f"Must be {NAME_CHARS} or fewer in length."
            return invalid_form("available_tags.name", "BASE_TYPE_BAD_LENGTH", why)
    kept = []
    for tag in sent:
        given = tag.get("id")
        kept.append(
            {
                "id": str(given) if given else str(next_id()),
                "name": str(tag.get("name", "")),
                "moderated": bool(tag.get("moderated", False)),
                "emoji_id": tag.get("emoji_id"),
                "emoji_name": tag.get("emoji_name"),
            }
        )
    return kept


def applied_tags_refusal(
    applied: list[Any], available: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The 400 body refusing a post's `applied_tags`, or None when Discord takes them."""
    if len(applied) > MAX_APPLIED:
        why = f"Must be {MAX_APPLIED} or fewer in length."
        return invalid_form("applied_tags", "BASE_TYPE_MAX_LENGTH", why)
    known = {str(t["id"]) for t in available}
    if any(str(tag) not in known for tag in applied):
        return invalid_form("applied_tags", "BASE_TYPE_CHOICES", "Value must be one of the tags.")
    return None
