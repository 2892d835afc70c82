"""The response-time clock in business hours: weekends, holidays, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import BusinessHours

TOKYO = ZoneInfo("Asia/Tokyo")


def hours(tz: ZoneInfo = TOKYO, holidays: tuple[date, ...] = ()) -> BusinessHours:
    return BusinessHours(tz, frozenset(range(5)), time(9), time(18), frozenset(holidays))


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = TOKYO) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=tz)  # 2026-03-02 is a Monday


@pytest.mark.parametrize(
    ("start", "target", "due"),
    [
        (at(2, 10), timedelta(minutes=15), at(2, 10, 15)),  # inside the day
        (at(2, 17, 50), timedelta(minutes=15), at(3, 9, 5)),  # over the night
        (at(2, 7), timedelta(hours=1), at(2, 10)),  # before opening
        (at(6, 17), timedelta(hours=4), at(9, 12)),  # Friday -> over the weekend -> Monday
        (at(7, 11), timedelta(minutes=15), at(9, 9, 15)),  # written on a Saturday
        (at(2, 10), timedelta(days=1), at(3, 10)),  # "1 business day"
        (at(6, 10), timedelta(days=1), at(9, 10)),  # Friday + 1 business day = Monday
    ],
)
def test_due_times_skip_nights_and_weekends(
    start: datetime, target: timedelta, due: datetime
) -> None:
    assert hours().due(start, target) == due


def test_holidays_are_skipped() -> None:
    business = hours(holidays=(date(2026, 3, 3),))
    assert business.due(at(2, 17, 30), timedelta(hours=1)) == at(4, 9, 30)


def test_time_zones_decide_what_a_day_is() -> None:
    # 01:00 UTC Monday is 10:00 in Tokyo (open) but before opening in UTC
    written = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert hours(TOKYO).due(written, timedelta(hours=1)) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert hours(ZoneInfo("UTC")).due(written, timedelta(hours=1)) == datetime(
        2026, 3, 2, 10, 0, tzinfo=UTC
    )


def test_elapsed_counts_only_working_time() -> None:
    business = hours()
    assert business.elapsed(at(6, 17), at(9, 10)) == timedelta(hours=2)  # Fri 1h + Mon 1h
    assert business.elapsed(at(7, 9), at(8, 20)) == timedelta(0)  # a weekend
    start = at(2, 16)
    assert business.elapsed(start, business.due(start, timedelta(hours=5))) == timedelta(hours=5)
