"""Splitting long text for platforms with a per-message limit: nothing is cut off."""

from __future__ import annotations


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
