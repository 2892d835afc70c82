"""After-care: the close schedules a follow-up; when due, agents check in, snooze or finish."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import commands as c
from bot.desk import Outcome
from bot.desk.context import CommandContext
from bot.model import Audience, Priority, Reminder, ReminderKind, ReminderStatus, Ticket
from bot.settings import FollowUpPolicy
from tests.unit.conftest import World, customer, make_world, staff

DAY = timedelta(days=1)


async def _closed_ticket(world: World, text: str = "Router flaky") -> None:
    await world.customer_says(text)
    await world.staff_says("/ticket claim #1", "bob")
    await world.desk.handle(c.RelayAgentMessage(1, "Try a restart"), staff("bob"))
    await world.staff_says("/ticket close #1 restarted", "bob")
    await world.delivered()


def _follow_ups(world: World) -> list[Reminder]:
    return [r for r in world.store.reminders if r.kind is ReminderKind.FOLLOW_UP]


def _ticket(world: World, number: int) -> Ticket:
    return next(t for t in world.store.tickets.values() if t.number == number)


async def _press(world: World, action_id: str, who: str = "bob") -> Outcome:
    from bot.buttons import command_for_button

    return await world.desk.handle(command_for_button(action_id), staff(who))


async def test_close_schedules_the_policy_follow_up_and_it_reminds_the_assignee(
    world: World,
) -> None:
    await _closed_ticket(world)
    [follow_up] = _follow_ups(world)
    assert follow_up.due_at == world.clock.now() + 3 * DAY
    assert await world.at(3 * DAY - timedelta(minutes=1)) == []
    [reminder] = await world.at(timedelta(minutes=1))
    assert reminder.audience is Audience.STAFF
    assert reminder.kind == "followup_due"
    assert reminder.mentions == ["S-bob"]
    assert "Follow-up due for #1" in reminder.body
    assert [a.label for a in reminder.actions] == ["Send check-in", "Snooze 1 day", "Done"]
    assert _follow_ups(world)[0].status is ReminderStatus.FIRED
    assert await world.at(DAY) == []  # fired once, not every tick


async def test_snooze_brings_it_back_a_day_later_and_done_finishes_it(world: World) -> None:
    await _closed_ticket(world)
    [reminder] = await world.at(3 * DAY)
    snooze, done = reminder.actions[1].id, reminder.actions[2].id
    reply = await _press(world, snooze)
    assert reply.ok
    assert "scheduled in 1 day." in reply.text
    assert "snoozed the follow-up for 1 day." in (await world.delivered())[0]
    assert await world.at(DAY - timedelta(minutes=1)) == []
    [again] = await world.at(timedelta(minutes=1))
    assert again.kind == "followup_due"
    assert (await _press(world, done)).ok
    assert _follow_ups(world)[0].status is ReminderStatus.DONE
    refused = await _press(world, done)
    assert not refused.ok
    assert "already done" in refused.text


async def test_send_check_in_asks_the_customer_who_can_reopen(world: World) -> None:
    await _closed_ticket(world)
    [reminder] = await world.at(3 * DAY)
    assert (await _press(world, reminder.actions[0].id)).ok
    sent = await world.delivered()
    checkin = next(m for m in world.out.delivered if m.kind == "checkin")
    assert "checking in about ticket #1" in checkin.body
    assert checkin.audience is Audience.CUSTOMER
    assert [a.id for a in checkin.actions] == ["checkin:good:1", "checkin:trouble:1"]
    assert any("sent the customer the after-care check-in" in b for b in sent)
    trouble = c.AnswerCheckIn(1, all_good=False)
    assert (await world.desk.handle(trouble, c.Caller(customer()))).ok
    await world.delivered()
    ticket = _ticket(world, 1)
    assert ticket.status.value == "reopened"
    notice = next(m for m in world.out.delivered if "still having trouble" in m.body)
    assert notice.mentions == ["S-bob"]


async def test_all_good_is_recorded_and_thanked(world: World) -> None:
    await _closed_ticket(world)
    await world.at(3 * DAY)
    good = c.AnswerCheckIn(1, all_good=True)
    await world.desk.handle(good, c.Caller(customer()))
    bodies = await world.delivered()
    assert "Glad it is working" in bodies[0]
    assert "answered the check-in: all good" in bodies[1]
    assert _ticket(world, 1).status.value == "closed"
    assert "checkin_all_good" in [e.kind for e in world.store.events]


async def test_someone_elses_check_in_buttons_do_nothing(world: World) -> None:
    await _closed_ticket(world)
    reply = await world.desk.handle(
        c.AnswerCheckIn(1, all_good=False), c.Caller(customer("mallory"))
    )
    assert not reply.ok
    assert _ticket(world, 1).status.value == "closed"


async def test_reopen_cancels_the_pending_follow_up(world: World) -> None:
    await _closed_ticket(world)
    await world.staff_says("/ticket reopen #1 not fixed", "bob")
    await world.delivered()
    assert _follow_ups(world)[0].status is ReminderStatus.CANCELLED
    assert [m for m in await world.at(4 * DAY) if m.kind == "followup_due"] == []


async def test_a_fired_follow_up_of_a_reopened_ticket_says_so(world: World) -> None:
    await _closed_ticket(world)
    [reminder] = await world.at(3 * DAY)
    # the customer says they still need help under the satisfaction question
    await world.desk.handle(c.RateTicket(1, None), c.Caller(customer()))
    refused = await _press(world, reminder.actions[0].id)
    assert not refused.ok
    assert "cancelled (the ticket was reopened)" in refused.text


async def test_the_close_forms_follow_up_replaces_the_policy(world: World) -> None:
    await world.customer_says("Router flaky")
    close = c.CloseTicket("done", 1, follow_up=timedelta(hours=4))
    reply = await world.desk.handle(close, staff("bob"))
    assert reply.ok
    assert "Follow-up in 4 hours." in reply.text
    assert [r.due_at - world.clock.now() for r in _follow_ups(world)] == [timedelta(hours=4)]


async def test_per_priority_policy_and_the_off_switch() -> None:
    urgent_soon = FollowUpPolicy(per_priority={Priority.URGENT: DAY})
    world = make_world(follow_ups=urgent_soon)
    await world.customer_says("URGENT: site down")
    await world.staff_says("/ticket close #1")
    assert _follow_ups(world)[0].due_at == world.clock.now() + DAY

    off = make_world(follow_ups=FollowUpPolicy(enabled=False))
    await off.customer_says("Router flaky")
    await off.staff_says("/ticket close #1")
    assert _follow_ups(off) == []


async def test_with_auto_check_in_the_customer_is_asked_without_an_agent() -> None:
    world = make_world(follow_ups=FollowUpPolicy(auto_checkin=True))
    await _closed_ticket(world)
    sent = await world.at(3 * DAY)
    assert [m.kind for m in sent] == ["checkin", "notice"]
    assert "automatically" in sent[1].body
    assert _follow_ups(world)[0].status is ReminderStatus.DONE


async def test_followups_lists_mine_and_everything_due_today(world: World) -> None:
    await world.customer_says("Router flaky")
    await world.customer_says("Printer jam", name="carol")
    await world.staff_says("/ticket followup #1 in 3d call back", "bob")
    await world.staff_says("/ticket followup #2 in 2h check toner", "dana")
    mine = await world.staff_says("/ticket followups", "bob")
    assert mine.listed == [2, 1]  # dana's is due today, bob's is his own
    assert "check toner" in mine.text
    assert "(today)" in mine.text
    other = await world.staff_says("/ticket followups", "erin")
    assert other.listed == [2]
    nobody = make_world()
    assert "No open follow-ups" in (await nobody.staff_says("/ticket followups")).text


async def test_bad_follow_up_input_is_refused_with_the_fix(world: World) -> None:
    await world.customer_says("Router flaky")
    past = await world.staff_says("/ticket followup #1 in -2d", "bob")
    assert not past.ok
    assert "in the past" in past.text
    garbled = await world.staff_says("/ticket followup #1 in soon", "bob")
    assert not garbled.ok
    assert "30m, 4h, 3d" in garbled.text
    assert _follow_ups(world) == []


async def test_a_failing_reminder_is_kept_with_its_error_and_the_rest_still_fire(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.desk import reminders

    await _closed_ticket(world)
    await world.customer_says("Second problem", name="carol")
    await world.staff_says("/ticket close #2", "bob")
    await world.delivered()

    calls: list[int] = []

    async def broken(ctx: CommandContext, reminder: Reminder, ticket: Ticket) -> None:
        calls.append(ticket.number)
        if ticket.number == 1:
            raise RuntimeError("template exploded")
        await original(ctx, reminder, ticket)

    original = reminders.ON_TICKET[ReminderKind.FOLLOW_UP]
    monkeypatch.setitem(reminders.ON_TICKET, ReminderKind.FOLLOW_UP, broken)
    sent = await world.at(3 * DAY)
    assert calls == [1, 2]
    assert [(m.kind, m.ticket_number) for m in sent] == [("followup_due", 2)]
    failed = next(r for r in _follow_ups(world) if r.ticket_id == _ticket(world, 1).id)
    assert failed.status is ReminderStatus.FAILED
    assert "template exploded" in failed.last_error
    assert await world.at(DAY) == []  # not retried every tick
