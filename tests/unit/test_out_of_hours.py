"""Out of hours: a customer who writes while the team is away is told when it is back, in
their language and their own time zone where the platform tells it (else the desk's),
across weekends and holidays."""

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


async def _acks(at: datetime, *said: tuple[str, str]) -> list[str]:
    """The acknowledgements of tickets opened at `at`, a (locale, time zone) each."""
    world = make_world(FrozenClock(at), business_hours=HOURS, timezone="Asia/Tokyo")
    for n, (locale, zone) in enumerate(said):
        await world.customer_says("My invoice is wrong", f"c{n}", locale=locale, timezone=zone)
    await world.sender.drain()
    return [m.body for m in world.out.delivered if m.kind == MessageKind.ACK]


async def _ack(at: datetime, locale: str = "", timezone: str = "") -> str:
    [ack] = await _acks(at, (locale, timezone))
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


async def test_each_customer_reads_the_time_in_their_own_time_zone_where_known() -> None:
    # Wednesday evening in Tokyo: the team is back on Monday 4 January, 09:00 JST, which is
    # Sunday 3 January, 19:00 in New York and Monday, 01:00 in Berlin
    written = datetime(2026, 12, 30, 20, 0, tzinfo=TOKYO)
    new_york, berlin, unknown, desk = await _acks(
        written,
        ("en", "America/New_York"),
        ("ja", "Europe/Berlin"),
        ("en", "Mars/Olympus_Mons"),  # a name this machine does not know: the desk's zone
        ("en", ""),
    )
    assert "Our team is offline until Sunday 3 January, 19:00 EST;" in new_york
    assert "ただいま営業時間外のため、1月4日（月）01:00（CET）から対応いたします。" in berlin
    assert "Our team is offline until Monday 4 January, 09:00 JST;" in unknown
    assert "Our team is offline until Monday 4 January, 09:00 JST;" in desk


async def test_a_customer_keeps_their_time_zone_when_a_later_message_does_not_say_it() -> None:
    world = make_world(
        FrozenClock(datetime(2026, 12, 26, 11, 0, tzinfo=TOKYO)),
        business_hours=HOURS,
        timezone="Asia/Tokyo",
    )
    await world.customer_says("First question", timezone="Europe/London")
    await world.staff_says("/ticket close #1")
    await world.sender.drain()
    world.clock.advance(timedelta(days=3, hours=9))
    await world.customer_says("A new question")  # a platform that does not tell the zone
    await world.sender.drain()
    acks = [m.body for m in world.out.delivered if m.kind == MessageKind.ACK]
    assert len(acks) == 2
    assert "Our team is offline until Monday 28 December, 00:00 GMT;" in acks[0]
    # Tuesday 29 December, 20:00 in Tokyo: back Wednesday 09:00 JST, 00:00 in London
    assert "Our team is offline until Wednesday 30 December, 00:00 GMT;" in acks[-1]


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
