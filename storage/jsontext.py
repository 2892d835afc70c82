"""JSON columns, with text made storable first when a document carries a lone surrogate or
NUL: Python's json writes them, but neither SQLite's UTF-8 nor PostgreSQL takes them."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.storable import storable

# what json.dumps(ensure_ascii=False) leaves of a NUL or a lone surrogate
_UNSTORABLE = re.compile(r"[\ud800-\udfff]|\\u0000")


def dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if _UNSTORABLE.search(text):
        text = json.dumps(storable(value), ensure_ascii=False, default=str)
    return text


loads = json.loads
