"""JSON columns through orjson, with text made storable first when a document carries a lone
surrogate or NUL (which orjson refuses, and PostgreSQL would refuse after it)."""

from __future__ import annotations

from typing import Any

import orjson

from bot.storable import storable


def dumps(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # orjson's JSONEncodeError: a surrogate, or a type it does not know
        return orjson.dumps(storable(value), default=str).decode()
    if "\\u0000" in text:
        return orjson.dumps(storable(value)).decode()
    return text


loads = orjson.loads
