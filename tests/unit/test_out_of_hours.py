"""Out of hours: a customer who writes while the team is away is told when it is back, in
their language and the desk's time zone, across weekends and holidays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import BusinessHours
from bot.clock import FrozenClock
from bot.kinds import MessageKind
from tests.unit.conftest import make_world

TOKYO = ZoneInfo("Asia/Tokyo")
# Monday 2026-12-28 to Friday; 2026-12-31 and 2027-01-01 are holidays
HOURS = BusinessHours(
    TOKYO,
    frozenset(range(5)),
    time(9),
    time(18),
    frozenset({date(2026, 12, 31), date(2027, 1, 1)}),
)


async def _ack(at: datetime, locale: str = "") -> str:
    world = make_world(FrozenClock(at), business_hours=HOURS, timezone="Asia/Tokyo")
    await world.customer_says("My invoice is wrong", locale=locale)
    await world.sender.drain()
    [ack] = [m.body for m in world.out.delivered if m.kind == MessageKind.ACK]
    return ack


@pytest.mark.parametrize(
    ("written", "back"),
    [
        # Friday evening: back on Monday morning
        (datetime(2026, 12, 25, 19, 30, tzinfo=TOKYO), "Monday 28 December, 09:00 JST"),
        # Saturday: back on Monday
        (datetime(2026, 12, 26, 11, 0, tzinfo=TOKYO), "Monday 28 December, 09:00 JST"),
        # before opening on a working day: back the same morning
        (datetime(2026, 12, 28, 7, 45, tzinfo=TOKYO), "Monday 28 December, 09:00 JST"),
        # Wednesday evening before two holidays and a weekend: back on Monday 4 January
        (datetime(2026, 12, 30, 18, 0, tzinfo=TOKYO), "Monday 4 January, 09:00 JST"),
    ],
)
async def test_the_acknowledgement_says_when_the_team_is_back(written: datetime, back: str) -> None:
    ack = await _ack(written)
    assert f"Our team is offline until {back}; a member of our support team will answer " in ack
    assert "within 4 hours of our return." in ack


async def test_within_business_hours_nothing_is_said_about_being_away() -> None:
    ack = await _ack(datetime(2026, 12, 28, 10, 0, tzinfo=TOKYO))
    assert "offline" not in ack
    assert "will answer within 4 hours." in ack


async def test_a_japanese_customer_reads_it_in_japanese() -> None:
    ack = await _ack(datetime(2026, 12, 30, 20, 0, tzinfo=TOKYO), locale="ja")
    assert "ただいま営業時間外のため、1月4日（月）09:00（JST）から対応いたします。" in ack
    assert "対応開始から4時間以内にご返信いたします。" in ack


def test_the_next_opening_of_a_desk_without_working_days_in_reach_is_an_error() -> None:
    closed = BusinessHours(TOKYO, frozenset(), time(9), time(18))
    with pytest.raises(ValueError, match="no working day"):
        closed.opens_next(datetime(2026, 12, 28, tzinfo=TOKYO))
    assert HOURS.is_open(datetime(2026, 12, 28, 9, 0, tzinfo=TOKYO))
    assert not HOURS.is_open(datetime(2026, 12, 28, 18, 0, tzinfo=TOKYO))
    assert not HOURS.is_open(datetime(2026, 12, 31, 12, 0, tzinfo=TOKYO))
    assert HOURS.opens_next(datetime(2026, 12, 28, 12, 0, tzinfo=TOKYO)) - datetime(
        2026, 12, 28, 12, 0, tzinfo=TOKYO
    ) == timedelta(0)
