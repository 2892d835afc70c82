"""Neutral Markdown to Slack mrkdwn, made safe: user text can never ping anyone."""

from __future__ import annotations

import re

from adapters.text import split_text

TEXT_LIMIT = 3000  # a section block's text; also a comfortable message size

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def escape(text: str) -> str:
    """Slack's three control characters; `<!channel>` becomes harmless `&lt;!channel&gt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(markdown: str) -> str:
    """Escape first, then turn the little Markdown our templates use into mrkdwn."""
    return _BOLD.sub(r"*\1*", escape(markdown))


def mention(user_ids: list[str]) -> str:
    """`U123` pings a user; `!subteam^S1` and `!here` are special mentions."""
    return " ".join(f"<{u}>" if u.startswith("!") else f"<@{u}>" for u in user_ids)


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Within Slack's limits, never breaking an escaped `&amp;` apart."""
    return split_text(text, limit, entities=True)
