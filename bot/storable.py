"""Text as a platform delivers it, made storable in every database we support.

Slack and Discord pass on whatever a client sent, including a lone UTF-16 surrogate
(`"\\ud800"` in JSON) and NUL. Neither can be encoded as UTF-8, so SQLite, PostgreSQL and every
JSON encoder refuse them, and the message would be lost. Each becomes U+FFFD, the character
that says "something unreadable stood here"; everything else (4-byte emoji, right-to-left
marks, zero-width joiners) is valid Unicode and is kept as it came.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

T = TypeVar("T")
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable(value: T) -> T:
    """The same value with every string in it made storable (dataclasses, dicts, lists,
    tuples); values that need no change are returned as they are."""
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = _clean(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, dict):
        items = {_clean(k): _clean(v) for k, v in value.items()}
        same = all(a is b for a, b in zip(value.values(), items.values(), strict=True))
        return value if same and list(items) == list(value) else items
    if isinstance(value, list | tuple):
        cleaned = [_clean(v) for v in value]
        if all(a is b for a, b in zip(value, cleaned, strict=True)):
            return value
        return type(value)(cleaned) if isinstance(value, list) else tuple(cleaned)
    return value
