"""Neutral Markdown to Slack mrkdwn, made safe: user text can never ping anyone."""

from __future__ import annotations

import re

TEXT_LIMIT = 3000  # a section block's text; also a comfortable message size

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def escape(text: str) -> str:
    """Slack's three control characters; `<!channel>` becomes harmless `&lt;!channel&gt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(markdown: str) -> str:
    """Escape first, then turn the little Markdown our templates use into mrkdwn."""
    return _BOLD.sub(r"*\1*", escape(markdown))


def mention(user_ids: list[str]) -> str:
    return " ".join(f"<@{u}>" for u in user_ids)


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split long text at line breaks (or spaces) so every part fits; nothing is cut off."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
            entity = rest.rfind("&", cut - 6, cut)  # never split &amp; / &lt; / &gt;
            if entity != -1 and ";" not in rest[entity:cut]:
                cut = entity
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return parts
