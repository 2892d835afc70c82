"""Durations as agents type them: 30m, 4h, 3d, 1w, 2d4h."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_MAX = timedelta(days=366)


class BadDuration(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """Parse `2d4h`-style text; raises BadDuration with a message an agent can act on."""
    cleaned = text.strip().lower().replace(" ", "")
    match = _DURATION.match(cleaned)
    if not cleaned or not match:
        raise BadDuration(text)
    weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    value = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    if value <= timedelta(0) or value > _MAX:
        raise BadDuration(text)
    return value


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration, for showing durations back to people."""
    minutes = int(value.total_seconds() // 60)
    parts = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        amount, minutes = divmod(minutes, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0m"
