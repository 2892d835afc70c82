"""First-response targets (nudge at 75%, breach at 100%, in business hours when set) and idle
tickets (a nudge to the customer, then the normal close), all on an injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import commands as c
from bot.business_hours import BusinessHours
from bot.clock import FrozenClock
from bot.model import Audience, ReminderKind, ReminderStatus
from bot.settings import IdlePolicy
from tests.unit.conftest import World, make_world, staff

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
TOKYO = ZoneInfo("Asia/Tokyo")


def _kinds(sent: list) -> list[str]:  # type: ignore[type-arg]
    return [m.kind for m in sent]


def _ticket(world: World, number: int = 1):  # type: ignore[no-untyped-def]
    return next(t for t in world.store.tickets.values() if t.number == number)


async def test_nudge_at_three_quarters_then_breach_to_the_leads(world: World) -> None:
    await world.customer_says("The export is slow")  # normal: 4 hours
    await world.delivered()
    assert await world.at(3 * HOUR - MINUTE) == []
    [nudge] = await world.at(MINUTE)
    assert "75% of the first-response target (4 hours)" in nudge.body
    assert nudge.mentions == ["@staff"]
    assert nudge.audience is Audience.STAFF
    assert "2026-01-05 13:00 UTC" in nudge.body  # when it is due
    assert await world.at(HOUR - MINUTE) == []
    sent = await world.at(MINUTE)
    leads = next(m for m in sent if m.audience is Audience.LEADS)
    assert "Response target missed: [#1](ticket:1)" in leads.body
    assert "nobody holds it" in leads.body
    assert _ticket(world).sla_breached_at == world.clock.now()
    card = next(m for m in sent if m.kind == "card_update")
    assert "First-response target missed" in card.body
    assert any("has passed without an answer" in m.body for m in sent)
    assert await world.at(DAY) == []


async def test_an_answer_in_time_stops_both(world: World) -> None:
    await world.customer_says("The export is slow")
    world.clock.advance(2 * HOUR)
    await world.desk.handle(c.RelayAgentMessage(1, "Looking"), staff("bob"))
    await world.delivered()
    assert [m for m in await world.at(5 * HOUR) if m.kind == "notice"] == []
    assert _ticket(world).sla_breached_at is None


async def test_the_assignee_is_the_one_nudged(world: World) -> None:
    await world.customer_says("The export is slow")
    await world.staff_says("/ticket claim #1", "bob")
    await world.delivered()
    [nudge] = await world.at(3 * HOUR)
    assert nudge.mentions == ["S-bob"]


async def test_raising_the_priority_moves_the_target(world: World) -> None:
    await world.customer_says("The export is slow")
    world.clock.advance(10 * MINUTE)
    await world.staff_says("/ticket priority #1 urgent", "bob")  # 15 minutes from creation
    await world.delivered()
    sent = await world.at(5 * MINUTE)
    assert any(m.audience is Audience.LEADS for m in sent)


async def test_after_a_restart_only_the_breach_speaks(world: World) -> None:
    await world.customer_says("The export is slow")
    await world.delivered()
    sent = await world.at(6 * HOUR)  # nothing ticked while we were down
    assert not any("75%" in m.body for m in sent)
    assert sum(m.audience is Audience.LEADS for m in sent) == 1
    statuses = {r.kind: r.status for r in world.store.reminders}
    assert statuses[ReminderKind.SLA_NUDGE] is ReminderStatus.CANCELLED


async def test_without_a_leads_channel_the_leads_are_pinged_in_the_thread() -> None:
    world = make_world(lead_platforms=())
    await world.customer_says("The export is slow")
    await world.delivered()
    sent = await world.at(4 * HOUR)
    assert not any(m.audience is Audience.LEADS for m in sent)
    breach = next(m for m in sent if "has passed" in m.body)
    assert breach.mentions[0] == "@leads"


def _office(tz: ZoneInfo, holidays: frozenset[date] = frozenset()) -> BusinessHours:
    return BusinessHours(tz, frozenset(range(5)), time(9), time(18), holidays)


async def _nudge_time(hours: BusinessHours, start: datetime, timezone: str) -> datetime:
    """Tick every 15 minutes from `start` until the nudge; return when it came."""
    world = make_world(FrozenClock(start), business_hours=hours, timezone=timezone)
    await world.customer_says("The export is slow")  # normal: 4 business hours
    await world.delivered()
    for _ in range(4 * 24 * 7):
        if any("75%" in m.body for m in await world.at(timedelta(minutes=15))):
            return world.clock.now().astimezone(hours.tz)
    raise AssertionError("no nudge within a week")


async def test_business_hours_carry_the_target_over_a_weekend_in_tokyo() -> None:
    friday_5pm = datetime(2026, 1, 9, 17, 0, tzinfo=TOKYO)
    # 3 of the 4 hours: Friday 17-18, then Monday 09-11
    when = await _nudge_time(_office(TOKYO), friday_5pm, "Asia/Tokyo")
    assert when == datetime(2026, 1, 12, 11, 0, tzinfo=TOKYO)


async def test_and_over_a_holiday_monday() -> None:
    friday_5pm = datetime(2026, 1, 9, 17, 0, tzinfo=TOKYO)
    holiday = frozenset({date(2026, 1, 12)})  # Coming of Age Day
    when = await _nudge_time(_office(TOKYO, holiday), friday_5pm, "Asia/Tokyo")
    assert when == datetime(2026, 1, 13, 11, 0, tzinfo=TOKYO)


async def test_the_same_moment_counts_differently_in_utc() -> None:
    # 08:00 UTC on Friday is 17:00 in Tokyo; an office in UTC opens at 09:00 and has the day
    friday = datetime(2026, 1, 9, 8, 0, tzinfo=UTC)
    when = await _nudge_time(_office(ZoneInfo("UTC")), friday, "UTC")
    assert when == datetime(2026, 1, 9, 12, 0, tzinfo=ZoneInfo("UTC"))


# --- idle tickets ---------------------------------------------------------------------------


async def _waiting(world: World) -> None:
    await world.customer_says("Where is my invoice?")
    await world.desk.handle(c.RelayAgentMessage(1, "Which month?"), staff("bob"))
    await world.delivered()


async def test_a_waiting_ticket_is_nudged_then_closed_the_normal_way(world: World) -> None:
    await _waiting(world)
    assert await world.at(2 * DAY - MINUTE) == []
    nudge, notice = await world.at(MINUTE)
    assert nudge.audience is Audience.CUSTOMER
    assert nudge.kind == "idle_nudge"
    assert "within 3 days, we will close the ticket" in nudge.body
    assert "No answer from the customer for 2 days" in notice.body
    sent = await world.at(3 * DAY)
    to_customer = [m for m in sent if m.audience is Audience.CUSTOMER]
    assert _kinds(to_customer) == ["farewell", "csat"]
    assert "closed automatically after 5 days without a reply" in to_customer[0].body
    ticket = _ticket(world)
    assert ticket.status.value == "closed"
    follow_ups = [r for r in world.store.reminders if r.kind is ReminderKind.FOLLOW_UP]
    assert [r.due_at for r in follow_ups] == [world.clock.now() + 3 * DAY]


async def test_a_customer_reply_stops_the_clock(world: World) -> None:
    await _waiting(world)
    world.clock.advance(DAY)
    await world.customer_says("March, please")
    await world.delivered()
    assert [m for m in await world.at(10 * DAY) if m.audience is Audience.CUSTOMER] == []
    assert _ticket(world).status.value == "claimed"


async def test_each_agent_reply_restarts_the_clock(world: World) -> None:
    await _waiting(world)
    world.clock.advance(DAY + 12 * HOUR)
    await world.desk.handle(c.RelayAgentMessage(1, "Any news?"), staff("bob"))
    await world.delivered()
    assert await world.at(12 * HOUR) == []  # two days since the first reply: not yet
    assert _kinds(await world.at(DAY + 12 * HOUR)) == ["idle_nudge", "notice"]


async def test_only_waiting_tickets_are_touched(world: World) -> None:
    await _waiting(world)
    await world.staff_says("/ticket escalate #1 billing invoices", "bob")
    await world.delivered()
    sent = await world.at(6 * DAY)
    assert [m for m in sent if m.audience is Audience.CUSTOMER] == []
    assert _ticket(world).status.value == "escalated"


async def test_idle_handling_can_be_switched_off() -> None:
    world = make_world(idle=IdlePolicy(enabled=False))
    await _waiting(world)
    assert [m for m in await world.at(9 * DAY) if m.audience is Audience.CUSTOMER] == []
