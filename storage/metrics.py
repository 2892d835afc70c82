"""What /metrics reads from the database when it is scraped: the figures every process
shares and that outlive a restart. One read-only snapshot (no SQLite write lock taken), four
queries, each on an index or the tickets table once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, select

from bot.kinds import EventKind
from bot.model import ReminderStatus
from storage import tables as t
from storage.engine import Database

_tk = t.tickets.c
_ev = t.ticket_events.c
_ob = t.outbox.c
_r = t.reminders.c

_TICKETS = select(
    _tk.source_platform,
    func.count(),
    # a target is met by a first response before any breach; a breach stays one
    func.count(case((and_(_tk.first_response_at.is_not(None), _tk.sla_breached_at.is_(None)), 1))),
    func.count(_tk.sla_breached_at),
).group_by(_tk.source_platform)
# closes, not closed tickets: a ticket closed, reopened and closed again counts twice, so the
# figure only grows, as a Prometheus counter must
_CLOSES = (
    select(_tk.source_platform, func.count())
    .select_from(t.ticket_events.join(t.tickets, _tk.id == _ev.ticket_id))
    .where(_ev.kind == EventKind.CLOSED.value)
    .group_by(_tk.source_platform)
)
_PENDING = (
    select(_ob.platform, func.count(), func.min(_ob.created_at))
    .where(_ob.status == "pending")
    .group_by(_ob.platform)
)
_OVERDUE = select(func.min(_r.due_at)).where(_r.status == ReminderStatus.PENDING.value)


@dataclass
class DeskFigures:
    opened: Counter[str] = field(default_factory=Counter)  # platform -> tickets opened
    closed: Counter[str] = field(default_factory=Counter)  # platform -> closes
    targets_met: Counter[str] = field(default_factory=Counter)
    targets_breached: Counter[str] = field(default_factory=Counter)
    pending: Counter[str] = field(default_factory=Counter)  # platform -> outbox rows waiting
    oldest_pending: dict[str, datetime] = field(default_factory=dict)  # platform -> created
    next_reminder_due: datetime | None = None  # the earliest pending reminder's due time


async def desk_figures(database: Database) -> DeskFigures:
    return await database.snapshot(_read)


def _read(conn: Connection) -> DeskFigures:
    figures = DeskFigures()
    for platform, opened, met, breached in conn.execute(_TICKETS):
        figures.opened[platform] = opened
        figures.targets_met[platform] = met
        figures.targets_breached[platform] = breached
    for platform, closes in conn.execute(_CLOSES):
        figures.closed[platform] = closes
    for platform, count, oldest in conn.execute(_PENDING):
        figures.pending[platform] = count
        figures.oldest_pending[platform] = oldest  # min() keeps the column's type: aware UTC
    figures.next_reminder_due = conn.execute(_OVERDUE).scalar()
    return figures
