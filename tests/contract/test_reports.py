"""ReportRepository: what the leads' digest reads for a window [since, until), checked row by
row against a small desk whose every figure is written out here (tests/storage/test_digest
checks the figures bot.reports makes of them, on a large random desk)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import events as ev
from bot.kinds import EventKind
from bot.model import (
    SYSTEM,
    Person,
    Priority,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Source,
    Status,
    TicketEvent,
)
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.reports import AuditLine, DigestView, UnclaimedTicket
from tests.contract.conftest import AT, BOB, add_customer, add_ticket

UNTIL = AT
SINCE = AT - timedelta(hours=24)
TODAY_END = AT + timedelta(hours=15)
H = timedelta(hours=1)
TINY = timedelta(microseconds=1)
CUSTOMER = Person("slack", "cust", "Cust")
S = Status


async def _desk(uow: UnitOfWork) -> dict[int, int]:
    """Tickets, events and follow-ups around the window; returns ticket number -> id."""
    customer_id = await add_customer(uow)
    ids = {}
    for number, platform, created, status, priority, assignee, first, breached in [
        (1, "slack", SINCE, S.OPEN, Priority.URGENT, None, None, None),
        (2, "discord", AT - H, S.CLAIMED, Priority.HIGH, BOB, AT - H / 2, None),
        (3, "slack", UNTIL, S.WAITING, Priority.NORMAL, None, None, None),
        (4, "slack", SINCE - TINY, S.CLOSED, Priority.NORMAL, BOB, SINCE - H, AT - 2 * H),
        (5, "discord", AT - 30 * H, S.REOPENED, Priority.LOW, None, AT - 5 * H, AT - 26 * H),
        (6, "slack", AT - 40 * H, S.ESCALATED, Priority.NORMAL, None, None, None),
        (7, "slack", AT - 40 * H, S.ESCALATED, Priority.NORMAL, None, None, None),
        (8, "slack", AT - 10 * H, S.OPEN, Priority.URGENT, None, None, None),
    ]:
        ticket = await add_ticket(
            uow,
            number,
            customer_id,
            subject=f"Problem {number}",
            source=Source(platform, "W", f"D{number}"),
            created_at=created,
            updated_at=None,
            status=status,
            priority=priority,
            assignee=assignee,
            first_response_at=first,
            sla_breached_at=breached,
            closed_at=AT - 3 * H if status is S.CLOSED else None,
            staff_channel="C-staff",
            staff_thread=f"th{number}",
        )
        ids[number] = ticket.id or 0
    events: list[tuple[int, ev.Payload | ev.BareKind, Person, datetime]] = [
        (2, EventKind.CLAIMED, BOB, AT - 50 * timedelta(minutes=1)),
        (2, ev.FirstResponse(1800), BOB, AT - H / 2),
        (4, ev.Closed("done", 9), SYSTEM, AT - 3 * H),
        (4, ev.Rated(4), CUSTOMER, SINCE),  # the window's first instant
        (5, ev.Reopened("again"), BOB, UNTIL - TINY),
        (6, ev.Escalated("l2", "", 1, ""), BOB, UNTIL),  # the next window's
        (2, EventKind.NOTE, BOB, AT - H),  # not a kind the digest counts
        (4, ev.Closed("", 5), BOB, SINCE - TINY),  # before it
        # questions the knowledge base had no article for, as their tickets opened
        (8, EventKind.KB_MISSED, CUSTOMER, AT - 10 * H),
        (1, EventKind.KB_MISSED, CUSTOMER, SINCE),
        (3, EventKind.KB_MISSED, CUSTOMER, UNTIL),  # the next window's
    ]
    for number, what, actor, at in events:
        await uow.events.add(TicketEvent.of(ids[number], what, actor, at))
    follow_up, pending, fired = ReminderKind.FOLLOW_UP, ReminderStatus.PENDING, ReminderStatus.FIRED
    for reminder_kind, due, reminder_status in [
        (follow_up, AT + H, pending),
        (follow_up, AT - 2 * H, fired),
        (follow_up, AT, ReminderStatus.DONE),
        (follow_up, TODAY_END, pending),  # due tomorrow, not today
        (ReminderKind.SLA_NUDGE, AT, pending),
    ]:
        reminder = Reminder(ids[2], reminder_kind, due, BOB, SINCE, status=reminder_status)
        await uow.reminders.add(reminder)
    return ids


def _line(
    kind: EventKind,
    actor: Person,
    data: dict[str, Any],
    platform: str,
    ticket_id: int,
    at: datetime,
) -> AuditLine:
    return AuditLine(kind, actor.ref, actor.name, data, platform, BOB.ref, BOB.name, ticket_id, at)


def _unclaimed(number: int, platform: str, priority: str, created: datetime) -> UnclaimedTicket:
    return UnclaimedTicket(
        number, f"Problem {number}", platform, priority, created, "C-staff", f"th{number}"
    )


async def test_the_digest_reads_the_windows_rows(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ids = await _desk(uow)
        await uow.commit()
    async with uow_factory() as uow:
        view = await uow.reports.digest_view(SINCE, UNTIL, TODAY_END)
    assert (view.since, view.until) == (SINCE, UNTIL)
    # created in [since, until): #1 at since, #2, #8; neither #3 (at until) nor #4 (just before)
    assert view.new_by_platform == {"slack": 2, "discord": 1}
    events = sorted(view.events, key=lambda e: (e.kind, e.platform))
    closed = {"resolution": "done", "resolution_seconds": 9}
    assert events == [
        _line(EventKind.CLAIMED, BOB, {}, "discord", ids[2], AT - 50 * timedelta(minutes=1)),
        _line(EventKind.CLOSED, SYSTEM, closed, "slack", ids[4], AT - 3 * H),
        _line(EventKind.FIRST_RESPONSE, BOB, {"seconds": 1800}, "discord", ids[2], AT - H / 2),
        _line(EventKind.RATED, CUSTOMER, {"score": 4}, "slack", ids[4], SINCE),
        AuditLine(
            EventKind.REOPENED,
            BOB.ref,
            "Bob",
            {"reason": "again"},
            "discord",
            None,
            None,
            ids[5],
            UNTIL - TINY,
        ),
    ]
    assert all(type(e.kind) is EventKind for e in events)
    assert sorted(view.backlog) == [
        ("claimed", "high", "discord", 1),
        ("escalated", "normal", "slack", 2),
        ("open", "urgent", "slack", 2),
        ("reopened", "low", "discord", 1),
        ("waiting", "normal", "slack", 1),
    ]
    # not closed, nobody's: the oldest five, the first written first at the same time
    assert view.oldest_unclaimed == [
        _unclaimed(6, "slack", "normal", AT - 40 * H),
        _unclaimed(7, "slack", "normal", AT - 40 * H),
        _unclaimed(5, "discord", "low", AT - 30 * H),
        _unclaimed(1, "slack", "urgent", SINCE),
        _unclaimed(8, "slack", "urgent", AT - 10 * H),
    ]
    # first responses in the window, with when their target had passed (if it had)
    assert view.responded == {ids[2]: None, ids[5]: AT - 26 * H}
    assert view.breached == {ids[4]}
    assert view.follow_ups_due_today == 2
    # for the knowledge base: the new tickets' subjects, and its misses in the order met
    assert sorted(view.new_subjects) == ["Problem 1", "Problem 2", "Problem 8"]
    assert view.unanswered == [(1, "Problem 1"), (8, "Problem 8")]


async def test_the_digest_sees_what_its_own_unit_wrote(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        empty = await uow.reports.digest_view(SINCE, UNTIL, TODAY_END)
        assert empty == DigestView(SINCE, UNTIL)
        await _desk(uow)
        view = await uow.reports.digest_view(SINCE, UNTIL, TODAY_END)
    assert sum(view.new_by_platform.values()) == 3
    assert len(view.events) == 5
    async with uow_factory() as uow:  # left without a commit: nothing was kept
        assert await uow.reports.digest_view(SINCE, UNTIL, TODAY_END) == DigestView(SINCE, UNTIL)


async def test_a_later_window_reads_later_rows(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await _desk(uow)
        await uow.commit()
    async with uow_factory() as uow:
        view = await uow.reports.digest_view(UNTIL, UNTIL + 24 * H, UNTIL + 39 * H)
    assert view.new_by_platform == {"slack": 1}  # #3, created at the window's start
    assert [(e.kind, e.platform) for e in view.events] == [(EventKind.ESCALATED, "slack")]
    assert view.new_subjects == ["Problem 3"]
    assert view.unanswered == [(3, "Problem 3")]
    assert view.responded == {}
    assert view.breached == set()
    # what does not depend on the window: the backlog, the oldest unclaimed
    assert sum(count for *_, count in view.backlog) == 7
    assert len(view.oldest_unclaimed) == 5
    assert view.follow_ups_due_today == 3  # tomorrow's is today's now
