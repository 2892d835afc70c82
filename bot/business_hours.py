"""Business hours: when the response-time clock runs.

Whole days in a target count as working days ("low: 1 business day"); the rest counts in
working minutes. Outside business hours, weekends and holidays the clock stands still."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MAX_DAYS = 800  # a target cannot reach further than this many calendar days


@dataclass(frozen=True)
class BusinessHours:
    tz: ZoneInfo
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    @property
    def day_length(self) -> timedelta:
        return _on(date(2000, 1, 3), self.end) - _on(date(2000, 1, 3), self.start)

    def due(self, start: datetime, target: timedelta, share: float = 1.0) -> datetime:
        """When `share` of `target` in working time, counted from `start`, has passed."""
        whole_days, rest = divmod(target, timedelta(days=1))
        remaining = (whole_days * self.day_length + rest) * share
        local = start.astimezone(self.tz)
        for _ in range(_MAX_DAYS):
            day = local.date()
            if self.is_working_day(day):
                opens = _on(day, self.start, self.tz)
                closes = _on(day, self.end, self.tz)
                begin = max(local, opens)
                if begin < closes:
                    if begin + remaining <= closes:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= closes - begin
            local = _on(day + timedelta(days=1), time(0), self.tz)
        raise ValueError("the target lies too far beyond the business calendar")

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        day = local.date()
        return self.is_working_day(day) and self.start <= local.time() < self.end

    def opens_next(self, at: datetime) -> datetime:
        """When the team is next at work, from `at` (which is outside business hours)."""
        local = at.astimezone(self.tz)
        for _ in range(_MAX_DAYS):
            day = local.date()
            opens = _on(day, self.start, self.tz)
            if self.is_working_day(day) and local < _on(day, self.end, self.tz):
                return max(local, opens).astimezone(at.tzinfo)
            local = _on(day + timedelta(days=1), time(0), self.tz)
        raise ValueError("no working day lies within reach of the business calendar")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments."""
        total = timedelta(0)
        local = start.astimezone(self.tz)
        finish = end.astimezone(self.tz)
        while local < finish:
            day = local.date()
            if self.is_working_day(day):
                begin = max(local, _on(day, self.start, self.tz))
                stop = min(finish, _on(day, self.end, self.tz))
                if stop > begin:
                    total += stop - begin
            local = _on(day + timedelta(days=1), time(0), self.tz)
        return total


def _on(day: date, at: time, tz: ZoneInfo | None = None) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)
