"""ReminderRepository: keyed reminders once, what is open and due (soonest first), what a
save changes, cancelling, and the follow-ups an agent sees."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.model import SYSTEM, Reminder, ReminderKind, ReminderStatus
from bot.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.conftest import AT, BOB, CAROL, SECOND, add_customer, add_ticket, in_utc

HOUR = timedelta(hours=1)
PENDING, FIRED, DONE = ReminderStatus.PENDING, ReminderStatus.FIRED, ReminderStatus.DONE
CANCELLED, FAILED = ReminderStatus.CANCELLED, ReminderStatus.FAILED
FOLLOW_UP, NUDGE, BREACH = ReminderKind.FOLLOW_UP, ReminderKind.SLA_NUDGE, ReminderKind.SLA_BREACH


def _reminder(
    ticket_id: int | None,
    kind: ReminderKind = FOLLOW_UP,
    due: datetime = AT,
    status: ReminderStatus = PENDING,
    **fields: object,
) -> Reminder:
    reminder = Reminder(ticket_id, kind, due, BOB, AT - HOUR, note=f"{kind} {due}", status=status)
    for name, value in fields.items():
        assert hasattr(reminder, name), name
        setattr(reminder, name, value)
    return reminder


async def _tickets(uow: UnitOfWork, count: int) -> list[int]:
    customer_id = await add_customer(uow)
    return [(await add_ticket(uow, n, customer_id)).id or 0 for n in range(1, count + 1)]


async def _add(uow: UnitOfWork, *reminders: Reminder) -> list[int]:
    for reminder in reminders:
        await uow.reminders.add(reminder)
    return [r.id or 0 for r in reminders]


async def test_a_reminder_round_trips_by_id_and_key(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        [ticket] = await _tickets(uow, 1)
        reminder = _reminder(ticket, key="followup:1", last_error="earlier: 500")
        reminder.created_by = dataclasses.replace(CAROL, name="")
        await uow.reminders.add(reminder)
        desk_wide = _reminder(None, ReminderKind.DIGEST, key="digest")
        await uow.reminders.add(desk_wide)
        await uow.commit()
    assert reminder.id is not None
    assert desk_wide.id is not None
    assert reminder.id != desk_wide.id
    async with uow_factory() as uow:
        by_id = await uow.reminders.by_id(reminder.id)
        by_key = await uow.reminders.by_key("digest")
        assert await uow.reminders.by_id(reminder.id + desk_wide.id + 1000) is None
        assert await uow.reminders.by_key("nothing") is None
    # a person is kept as ref and name: no name reads back as the user id
    expected = dataclasses.replace(reminder, created_by=dataclasses.replace(CAROL, name="1001"))
    assert by_id == expected
    assert by_key == desk_wide
    assert by_id is not None
    assert in_utc(by_id.due_at)
    assert in_utc(by_id.created_at)


async def test_a_keyed_reminder_is_added_once(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = _reminder(None, ReminderKind.DIGEST, key="digest", note="first")
        assert await uow.reminders.add_once(first)
        assert not await uow.reminders.add_once(dataclasses.replace(first, note="second"))
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.reminders.add_once(dataclasses.replace(first, note="third"))
        found = await uow.reminders.by_key("digest")
        assert found is not None
        assert found.note == "first"
        # without a key a reminder is never a duplicate
        [ticket] = await _tickets(uow, 1)
        assert await uow.reminders.add_once(_reminder(ticket, key=None))
        assert await uow.reminders.add_once(_reminder(ticket, key=None))
        assert len(await uow.reminders.open_for_ticket(ticket)) == 2


async def test_a_key_added_twice_breaks_a_constraint(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.reminders.add(_reminder(None, ReminderKind.DIGEST, key="digest"))
        with pytest.raises(IntegrityError):
            await uow.reminders.add(_reminder(None, ReminderKind.DIGEST, key="digest"))


async def test_a_reminder_needs_its_ticket(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.reminders.add(_reminder(99_999))


async def test_several_are_added_at_once(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        [ticket] = await _tickets(uow, 1)
        await uow.reminders.add_many([_reminder(ticket, NUDGE), _reminder(ticket, BREACH, AT)])
        await uow.reminders.add_many([])
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.reminders.open_for_ticket(ticket)
    assert [(r.kind, r.status) for r in found] == [(NUDGE, PENDING), (BREACH, PENDING)]
    assert all(r.id is not None for r in found)


async def test_open_reminders_of_a_ticket_are_pending_and_fired_soonest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        one, two = await _tickets(uow, 2)
        ids = await _add(
            uow,
            _reminder(one, due=AT + 2 * HOUR),
            _reminder(one, NUDGE, AT, FIRED),
            _reminder(one, BREACH, AT + 2 * HOUR),  # the same time: the first written first
            _reminder(one, due=AT - HOUR, status=DONE),
            _reminder(one, due=AT - HOUR, status=CANCELLED),
            _reminder(one, due=AT - HOUR, status=FAILED),
            _reminder(two, due=AT - HOUR),
        )
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.reminders.open_for_ticket(one)
        assert await uow.reminders.open_for_ticket(one + two + 1000) == []
    assert [r.id for r in found] == [ids[1], ids[0], ids[2]]


async def test_claim_due_takes_pending_reminders_due_by_now_soonest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        one, two = await _tickets(uow, 2)
        ids = await _add(
            uow,
            _reminder(one, NUDGE, AT),
            _reminder(two, BREACH, AT - HOUR),
            _reminder(None, ReminderKind.DIGEST, AT - HOUR, key="digest"),  # desk-wide
            _reminder(one, due=AT + SECOND),  # not yet
            _reminder(one, due=AT - HOUR, status=FIRED),
            _reminder(one, due=AT - HOUR, status=DONE),
            _reminder(two, due=AT - HOUR, status=CANCELLED),
            _reminder(two, due=AT - HOUR, status=FAILED),
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert [r.id for r in await uow.reminders.claim_due(AT, 10)] == [ids[1], ids[2], ids[0]]
        assert [r.id for r in await uow.reminders.claim_due(AT, 2)] == [ids[1], ids[2]]
        assert await uow.reminders.claim_due(AT - 2 * HOUR, 10) == []
        assert await uow.reminders.claim_due(AT, 0) == []
        [due] = [r for r in await uow.reminders.claim_due(AT + SECOND, 10) if r.id == ids[3]]
    assert due.kind is FOLLOW_UP
    assert due.status is PENDING
    assert due.ticket_id == one


async def test_a_save_changes_status_due_time_note_and_error_only(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        one, two = await _tickets(uow, 2)
        reminder = _reminder(one, key="k1")
        await uow.reminders.add(reminder)
        await uow.commit()
    assert reminder.id is not None
    async with uow_factory() as uow:
        loaded = await uow.reminders.by_id(reminder.id)
        assert loaded is not None
        changed = dataclasses.replace(
            loaded,
            status=FIRED,
            due_at=AT + 3 * HOUR,
            note="call back",
            last_error="x" * 2500,
            # not a reminder's to change once written
            ticket_id=two,
            kind=NUDGE,
            key="k2",
            created_by=SYSTEM,
            created_at=AT + HOUR,
        )
        await uow.reminders.save(changed)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.reminders.by_id(reminder.id)
        assert await uow.reminders.by_key("k2") is None
        assert await uow.reminders.claim_due(AT + 4 * HOUR, 10) == []  # fired: not pending
    assert stored == dataclasses.replace(
        loaded, status=FIRED, due_at=AT + 3 * HOUR, note="call back", last_error="x" * 2000
    )


async def test_cancel_ends_a_tickets_reminders_of_the_kinds_given(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        one, two = await _tickets(uow, 2)
        ids = await _add(
            uow,
            _reminder(one, NUDGE),
            _reminder(one, BREACH),
            _reminder(one, BREACH, status=FIRED),
            _reminder(one, BREACH, status=DONE),
            _reminder(one, FOLLOW_UP),
            _reminder(two, BREACH),
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.reminders.cancel(one, [NUDGE, BREACH]) == 2
        assert await uow.reminders.cancel(one, [NUDGE, BREACH]) == 0
        assert await uow.reminders.cancel(one, []) == 0
        assert await uow.reminders.cancel(one, iter([BREACH]), fired_too=True) == 1
        await uow.commit()
    async with uow_factory() as uow:
        statuses = [(await uow.reminders.by_id(i) or _reminder(None)).status for i in ids]
    assert statuses == [CANCELLED, CANCELLED, CANCELLED, DONE, PENDING, PENDING]


async def test_follow_ups_are_an_agents_own_their_tickets_and_any_overdue(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        bobs = (await add_ticket(uow, 1, customer_id, assignee=BOB)).id or 0
        carols = (await add_ticket(uow, 2, customer_id, assignee=CAROL)).id or 0
        ids = await _add(
            uow,
            _reminder(carols, due=AT + 3 * HOUR),  # created by Bob
            _reminder(bobs, due=AT + 2 * HOUR, created_by=CAROL),  # on Bob's ticket
            _reminder(carols, due=AT - HOUR, created_by=CAROL),  # overdue: anyone's
            _reminder(carols, due=AT + HOUR, created_by=CAROL),  # Carol's
            _reminder(carols, due=AT - HOUR, created_by=CAROL, status=FIRED),  # fired: open
            _reminder(bobs, due=AT - HOUR, status=DONE),
            _reminder(bobs, NUDGE, AT - HOUR),
            _reminder(None, due=AT - HOUR, created_by=BOB),  # no ticket: no follow-up
        )
        await uow.commit()
    async with uow_factory() as uow:
        mine = [r.id for r in await uow.reminders.follow_ups(BOB.ref, AT, 10)]
        assert mine == [ids[2], ids[4], ids[1], ids[0]]
        assert [r.id for r in await uow.reminders.follow_ups(BOB.ref, AT, 2)] == mine[:2]
        carol = [r.id for r in await uow.reminders.follow_ups(CAROL.ref, AT - HOUR, 10)]
        assert carol == [ids[2], ids[4], ids[3], ids[1], ids[0]]
        nobody = [r.id for r in await uow.reminders.follow_ups("slack:nobody", AT, 10)]
        assert nobody == [ids[2], ids[4]]
        # overdue means due before the time given, not at it
        assert await uow.reminders.follow_ups("slack:nobody", AT - HOUR, 10) == []
