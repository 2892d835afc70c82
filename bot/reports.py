"""What the leads' digest reports, as plain figures that storage fills in."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class UnclaimedTicket:
    number: int
    subject: str
    platform: str
    priority: str
    created_at: datetime
    staff_channel: str
    staff_thread: str


@dataclass
class PlatformLine:
    platform: str
    new: int = 0
    closed: int = 0
    backlog: int = 0


@dataclass
class AgentLine:
    name: str
    claimed: int = 0
    closed: int = 0
    first_responses: list[int] = field(default_factory=list)  # seconds
    ratings: list[int] = field(default_factory=list)

    @property
    def median_first_response(self) -> timedelta | None:
        return median_duration(self.first_responses)

    @property
    def csat_average(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None


@dataclass
class DigestFigures:
    since: datetime
    until: datetime
    new: int = 0
    closed: int = 0
    reopened: int = 0
    escalated: int = 0
    backlog: dict[str, dict[str, int]] = field(default_factory=dict)  # status -> priority -> n
    platforms: list[PlatformLine] = field(default_factory=list)
    oldest_unclaimed: list[UnclaimedTicket] = field(default_factory=list)
    targets_decided: int = 0  # tickets whose first response came, or whose target passed
    targets_met: int = 0
    breaches: int = 0
    first_responses: list[int] = field(default_factory=list)  # seconds
    resolutions: list[int] = field(default_factory=list)  # seconds
    ratings: list[int] = field(default_factory=list)
    follow_ups_due_today: int = 0
    agents: list[AgentLine] = field(default_factory=list)

    @property
    def backlog_total(self) -> int:
        return sum(sum(by_priority.values()) for by_priority in self.backlog.values())

    @property
    def target_share(self) -> float | None:
        return self.targets_met / self.targets_decided if self.targets_decided else None

    @property
    def median_first_response(self) -> timedelta | None:
        return median_duration(self.first_responses)

    @property
    def median_resolution(self) -> timedelta | None:
        return median_duration(self.resolutions)

    @property
    def csat_average(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None


def median_duration(seconds: Iterable[int]) -> timedelta | None:
    values = list(seconds)
    return timedelta(seconds=statistics.median(values)) if values else None
