"""Desk settings the core reads (teams, note prefixes, targets); loaded by bot.config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.business_hours import BusinessHours
from bot.model import Priority
from bot.triage import DEFAULT_KEYWORDS

DEFAULT_TARGETS: dict[Priority, timedelta] = {
    Priority.URGENT: timedelta(minutes=15),
    Priority.HIGH: timedelta(hours=1),
    Priority.NORMAL: timedelta(hours=4),
    Priority.LOW: timedelta(days=1),
}


@dataclass(frozen=True)
class DeskSettings:
    locale: str = "en"
    timezone: str = "UTC"
    teams: tuple[str, ...] = ("tier2", "billing", "engineering")
    note_prefixes: tuple[str, ...] = ("//", "note:")
    keywords: dict[Priority, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_KEYWORDS)
    )
    first_response_targets: dict[Priority, timedelta] = field(
        default_factory=lambda: dict(DEFAULT_TARGETS)
    )
    subject_length: int = 80
    business_hours: BusinessHours | None = None  # None: targets count in wall time
