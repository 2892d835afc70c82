"""The digest on SQLite and PostgreSQL: every figure checked against a seeded set of tickets
whose expected figures this test computes on its own, plus when the digest goes out."""

from __future__ import annotations

import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import events as ev
from bot.clock import FrozenClock
from bot.desk import Desk, digest
from bot.kinds import EventKind
from bot.model import (
    SYSTEM,
    Customer,
    Person,
    Priority,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Source,
    Status,
    Ticket,
    TicketEvent,
)
from bot.rendering import Renderer
from bot.reports import digest_figures
from bot.scheduling.runner import ReminderRunner
from bot.settings import DeskSettings
from storage import reports
from storage import tables as t
from storage.engine import Database
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

NOW = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
SINCE = NOW - timedelta(hours=24)
AGENTS = [
    Person("slack", "UA", "Aiko"),
    Person("discord", "11", "Ben"),
    Person("slack", "UC", "Cy"),
]


def _seed() -> tuple[list[Ticket], list[TicketEvent], list[Reminder]]:
    """Tickets over the last three days, with the events and follow-ups a desk would leave."""
    rng = random.Random(5)
    tickets, events, reminders = [], [], []
    for n in range(1, 121):
        created = NOW - timedelta(minutes=rng.randrange(3 * 24 * 60))
        status = rng.choice(list(Status))
        assignee = None if status is Status.OPEN else rng.choice([*AGENTS, None])
        first = created + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.7 else None
        breached = created + timedelta(hours=4) if rng.random() < 0.25 else None
        platform = rng.choice(["slack", "discord"])
        tickets.append(
            Ticket(
                id=n,
                number=n,
                subject=f"Problem {n}",
                customer_id=1,
                customer_name="Cust",
                locale="en",
                source=Source(platform, "W", f"D{n}"),
                created_at=created,
                priority=rng.choice(list(Priority)),
                status=status,
                assignee=assignee,
                first_response_at=first if first and first < NOW else None,
                closed_at=NOW - timedelta(minutes=rng.randrange(1, 3000))
                if status is Status.CLOSED
                else None,
                sla_breached_at=breached if breached and breached < NOW else None,
                staff_channel="C-staff",
                staff_thread=f"th{n}",
            )
        )
        for kind in (
            EventKind.CLOSED,
            EventKind.REOPENED,
            EventKind.ESCALATED,
            EventKind.CLAIMED,
            EventKind.FIRST_RESPONSE,
            EventKind.RATED,
        ):
            if rng.random() < 0.45:
                at = NOW - timedelta(minutes=rng.randrange(1, 2 * 24 * 60))
                actor = (
                    rng.choice([*AGENTS, SYSTEM])
                    if kind is EventKind.CLOSED
                    else rng.choice(AGENTS)
                )
                what: ev.Payload | ev.BareKind
                if kind is EventKind.CLOSED:
                    what = ev.Closed("", rng.randrange(60, 90000))
                elif kind is EventKind.FIRST_RESPONSE:
                    what = ev.FirstResponse(rng.randrange(30, 20000))
                elif kind is EventKind.RATED:
                    actor = Person(platform, "cust", "Cust")
                    what = ev.Rated(rng.randrange(1, 6))
                elif kind is EventKind.REOPENED:
                    what = ev.Reopened("")
                elif kind is EventKind.ESCALATED:
                    what = ev.Escalated("", "", 1, "")
                else:
                    what = EventKind.CLAIMED
                events.append(TicketEvent.of(n, what, actor, at))
        if rng.random() < 0.3:
            due = NOW + timedelta(hours=rng.randrange(-30, 40))
            status_ = rng.choice(
                [ReminderStatus.PENDING, ReminderStatus.FIRED, ReminderStatus.DONE]
            )
            reminders.append(
                Reminder(n, ReminderKind.FOLLOW_UP, due, AGENTS[0], NOW, status=status_)
            )
    return tickets, events, reminders


async def _store(
    database: Database, seeded: tuple[list[Ticket], list[TicketEvent], list[Reminder]]
) -> None:
    tickets, events, reminders = seeded
    async with SqlUnitOfWork(database) as uow:
        customer = Customer(None, "Cust", "en")
        await uow.customers.add(customer, "slack", "cust")
        assert customer.id is not None
        for ticket in tickets:
            ticket.customer_id = customer.id
            await uow.tickets.add(ticket)
        for event in events:
            await uow.events.add(event)
        await uow.reminders.add_many(reminders)
        await uow.commit()


def _within(at: datetime | None) -> bool:
    return at is not None and SINCE <= at < NOW


async def test_every_figure_matches_an_independent_count(database: Database) -> None:
    tickets, events, reminders = seeded = _seed()
    await _store(database, seeded)
    async with SqlUnitOfWork(database) as uow:
        found = digest_figures(await uow.reports.digest_view(SINCE, NOW, NOW + timedelta(hours=15)))

    recent = [e for e in events if _within(e.at)]
    by_id = {tk.id: tk for tk in tickets}
    of_kind = {k: [e for e in recent if e.kind == k] for k in {e.kind for e in events}}
    assert found.new == sum(_within(tk.created_at) for tk in tickets) > 0
    assert found.closed == len(of_kind[EventKind.CLOSED]) > 0
    assert found.reopened == len(of_kind[EventKind.REOPENED]) > 0
    assert found.escalated == len(of_kind[EventKind.ESCALATED]) > 0

    open_tickets = [tk for tk in tickets if tk.status is not Status.CLOSED]
    expected_backlog: dict[str, dict[str, int]] = {}
    for tk in open_tickets:
        row = expected_backlog.setdefault(tk.status.value, {})
        row[tk.priority.value] = row.get(tk.priority.value, 0) + 1
    assert found.backlog == expected_backlog
    assert found.backlog_total == len(open_tickets)

    for line in found.platforms:
        mine = [tk for tk in tickets if tk.source.platform == line.platform]
        assert line.new == sum(_within(tk.created_at) for tk in mine)
        assert line.backlog == sum(tk.status is not Status.CLOSED for tk in mine)
        assert line.closed == sum(
            by_id[e.ticket_id].source.platform == line.platform for e in of_kind[EventKind.CLOSED]
        )
    assert {p.platform for p in found.platforms} == {"slack", "discord"}

    unclaimed = sorted(
        (tk for tk in open_tickets if tk.assignee is None), key=lambda tk: tk.created_at
    )
    assert [u.number for u in found.oldest_unclaimed] == [tk.number for tk in unclaimed[:5]]

    responded = {tk.id for tk in tickets if _within(tk.first_response_at)}
    breached = {tk.id for tk in tickets if _within(tk.sla_breached_at)}
    assert found.targets_decided == len(responded | breached) > 0
    assert found.targets_met == sum(by_id[i].sla_breached_at is None for i in responded)
    assert found.breaches == len(breached) > 0

    seconds = [e.data["seconds"] for e in of_kind[EventKind.FIRST_RESPONSE]]
    assert found.median_first_response == timedelta(seconds=statistics.median(seconds))
    resolutions = [e.data["resolution_seconds"] for e in of_kind[EventKind.CLOSED]]
    assert found.median_resolution == timedelta(seconds=statistics.median(resolutions))
    scores = [e.data["score"] for e in of_kind[EventKind.RATED]]
    assert found.csat_average == statistics.fmean(scores)
    assert len(found.ratings) == len(scores)

    due_today = [r for r in reminders if r.is_open and r.due_at < NOW + timedelta(hours=15)]
    assert found.follow_ups_due_today == len(due_today) > 0

    for agent in AGENTS:
        agent_line = next(a for a in found.agents if a.name == agent.name)
        assert agent_line.claimed == sum(e.actor == agent for e in of_kind[EventKind.CLAIMED])
        assert agent_line.closed == sum(e.actor == agent for e in of_kind[EventKind.CLOSED])
        responses = [
            e.data["seconds"] for e in of_kind[EventKind.FIRST_RESPONSE] if e.actor == agent
        ]
        assert sorted(agent_line.first_responses) == sorted(responses)
        rated = [
            e.data["score"]
            for e in of_kind[EventKind.RATED]
            if (by_id[e.ticket_id].assignee or SYSTEM).ref == agent.ref
        ]
        assert sorted(agent_line.ratings) == sorted(rated)
    # the bot's own closes count in the total but are no agent's work
    assert {a.name for a in found.agents} == {a.name for a in AGENTS}


async def test_postgresql_reads_the_days_audit_lines_a_slice_at_a_time(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tens of thousands of a large desk's events are decoded a slice per round trip, the
    event loop serving customers between slices, not in one piece (SQLite reads them on a
    worker thread)."""
    seeded = _seed()
    await _store(database, seeded)
    monkeypatch.setattr(reports, "EVENTS_SLICE", 7)
    streamed: list[int] = []
    read = AsyncConnection.stream

    async def counted(self: AsyncConnection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        streamed.append(statement.get_execution_options().get("yield_per", 0))
        return await read(self, statement, *args, **kwargs)

    monkeypatch.setattr(AsyncConnection, "stream", counted)
    async with SqlUnitOfWork(database) as uow:
        view = await uow.reports.digest_view(SINCE, NOW, NOW + timedelta(hours=15))
    assert len(view.events) == sum(_within(e.at) for e in seeded[1]) > 7
    assert streamed == ([7] if database.dialect_name == "postgresql" else [])


def _scheduled_desk(database: Database, clock: FrozenClock) -> Desk:
    settings = DeskSettings(timezone="Asia/Tokyo", lead_platforms=("slack", "discord"))
    return Desk(SqlUnitOfWorkFactory(database), Renderer(), settings, clock)


async def _digests(database: Database) -> list[tuple[str, str]]:
    async with database.begin() as conn:
        rows = await conn.execute(
            select(t.outbox.c.platform, t.outbox.c.body).where(t.outbox.c.kind == "digest")
        )
        return [(r.platform, r.body) for r in rows]


async def test_the_digest_goes_out_at_digest_time_once_to_every_leads_channel(
    database: Database,
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    clock = FrozenClock(datetime(2026, 3, 4, 8, 0, tzinfo=tokyo))
    desk = _scheduled_desk(database, clock)
    runner = ReminderRunner(desk)
    await runner.start()
    await runner.start()  # a second worker starting finds the row already there
    clock.advance(timedelta(minutes=59))
    assert await runner.fire_due() == 0
    clock.advance(timedelta(minutes=1))
    assert await runner.fire_due() == 1
    assert await runner.fire_due() == 0
    sent = await _digests(database)
    assert sorted(p for p, _ in sent) == ["discord", "slack"]
    assert "**Daily digest** (2026-03-03 09:00 JST to 2026-03-04 09:00 JST)" in sent[0][1]
    async with SqlUnitOfWork(database) as uow:
        row = await uow.reminders.by_key(digest.KEY)
    assert row is not None
    assert row.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=tokyo)


async def test_a_digest_missed_while_down_goes_out_once_at_start(database: Database) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    clock = FrozenClock(datetime(2026, 3, 4, 8, 0, tzinfo=tokyo))
    await ReminderRunner(_scheduled_desk(database, clock)).start()
    clock.advance(timedelta(days=2, hours=3))  # down over two digest times
    restarted = ReminderRunner(_scheduled_desk(database, clock))
    await restarted.start()
    assert await restarted.fire_due() == 1
    assert len(await _digests(database)) == 2  # one digest, to each of two platforms
    async with SqlUnitOfWork(database) as uow:
        row = await uow.reminders.by_key(digest.KEY)
    assert row is not None
    assert row.due_at == datetime(2026, 3, 7, 9, 0, tzinfo=tokyo)


async def test_a_new_digest_time_moves_the_next_digest(database: Database) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    clock = FrozenClock(datetime(2026, 3, 4, 8, 0, tzinfo=tokyo))
    desk = _scheduled_desk(database, clock)
    await ReminderRunner(desk).start()
    later = replace(desk.settings, digest_time=time(17, 30))
    moved = Desk(desk.uow_factory, desk.renderer, later, clock)
    await ReminderRunner(moved).start()
    async with SqlUnitOfWork(database) as uow:
        row = await uow.reminders.by_key(digest.KEY)
    assert row is not None
    assert row.due_at == datetime(2026, 3, 4, 17, 30, tzinfo=tokyo)


async def test_claim_due_skips_what_another_worker_holds(database: Database) -> None:
    if database.dialect_name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time; there is nothing to skip")
    seeded = _seed()
    await _store(database, ([seeded[0][0]], [], []))
    async with SqlUnitOfWork(database) as uow:
        due = NOW - timedelta(minutes=1)
        for kind in (ReminderKind.SLA_NUDGE, ReminderKind.SLA_BREACH):
            await uow.reminders.add(Reminder(1, kind, due, SYSTEM, due))
        await uow.commit()
    async with (
        SqlUnitOfWork(database) as first,
        SqlUnitOfWork(database) as second,
        SqlUnitOfWork(database) as third,
    ):
        [a] = await first.reminders.claim_due(NOW, 1)
        [b] = await second.reminders.claim_due(NOW, 1)
        assert a.id != b.id
        assert await third.reminders.claim_due(NOW, 5) == []
    async with SqlUnitOfWork(database) as after:  # released with their transactions
        assert len(await after.reminders.claim_due(NOW, 5)) == 2
