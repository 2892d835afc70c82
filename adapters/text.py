"""Text for platforms: splitting at a per-message limit (nothing is cut off), and the links
to tickets that the core marks."""

from __future__ import annotations

import re
from collections.abc import Callable


def split_text(text: str, limit: int, *, entities: bool = False) -> list[str]:
    """Parts of at most `limit` characters, split at a line break, else a space, else hard.
    With `entities`, a hard split never falls inside an HTML entity such as `&amp;`."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
            entity = rest.rfind("&", cut - 6, cut) if entities else -1
            if entity > 0 and ";" not in rest[entity:cut]:
                cut = entity
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return parts


# the core writes `[#42](ticket:42)` where a ticket should link to its staff thread
TICKET_LINK = re.compile(r"\[#(\d+)\]\(ticket:(\d+)\)")


def linked_numbers(text: str) -> list[str]:
    return [m.group(1) for m in TICKET_LINK.finditer(text)]


def resolve_ticket_links(text: str, link: Callable[[str], str]) -> str:
    """Each `[#N](ticket:N)` becomes what `link(N)` makes of it for the platform."""
    return TICKET_LINK.sub(lambda m: link(m.group(1)), text)
