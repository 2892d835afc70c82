"""This process's own counts for the operator's metrics: plain integers, bumped where things
happen (delivery, intake's dedupe) and read when /metrics is scraped (bot.app.health).

What several processes share or what must outlive a restart (tickets, the outbox's backlog,
response targets) is not counted here: it is read from the database at scrape time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class ProcessCounts:
    # delivery attempts by platform and how they ended (one counter per result: bumping one
    # builds no key): sent, to be tried again, failed for good
    sent: Counter[str] = field(default_factory=Counter)
    retry: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    # platform: a platform's Retry-After (a 429) closed a route for a while
    retry_after: Counter[str] = field(default_factory=Counter)
    # platform: an inbound event seen before (a retry, a redelivery, a replay) changed nothing
    deduplicated: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        for counter in (self.sent, self.retry, self.failed):
            counter.clear()
        self.retry_after.clear()
        self.deduplicated.clear()


# one per process, as Prometheus scrapes a process: like the logging module's loggers
COUNTS = ProcessCounts()


@dataclass
class TickState:
    """When the scheduler's tick last went through, for its lag (metrics and readiness)."""

    interval: timedelta
    started: datetime  # the lag of a tick that never ran counts from the start
    last_done: datetime | None = None

    def done(self, at: datetime) -> None:
        self.last_done = at

    def lag(self, now: datetime) -> timedelta:
        """How far past its interval the next tick is: zero while ticks come on time."""
        since = now - (self.last_done or self.started)
        return max(since - self.interval, timedelta(0))
