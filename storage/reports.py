"""What the leads' digest reads, in a handful of indexed queries; what counts is the core's
rule (bot.reports). Only the last day's rows are read (by the created_at / closed_at /
first_response_at / sla_breached_at and event (kind, at) indexes); the backlog reads the
tickets that are not closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from bot.kinds import EventKind
from bot.model import ReminderKind, ReminderStatus, Status
from bot.reports import COUNTED, AuditLine, DigestView, UnclaimedTicket
from storage import tables as t
from storage.write_behind import WriteBehind

_tk = t.tickets.c
_ev = t.ticket_events.c
_r = t.reminders.c
_NOT_CLOSED = [s.value for s in Status if s is not Status.CLOSED]
_EVENT_KINDS = [str(kind) for kind in COUNTED]
OLDEST_UNCLAIMED = 5
EVENTS_SLICE = 2000  # audit events decoded at a time on PostgreSQL


def _window(column: Any) -> Any:
    return (column >= bindparam("since")) & (column < bindparam("until"))


_NEW = (
    select(_tk.source_platform, func.count())
    .where(_window(_tk.created_at))
    .group_by(_tk.source_platform)
)
_EVENTS = (
    select(
        _ev.kind,
        _ev.actor_ref,
        _ev.actor_name,
        _ev.data,
        _tk.source_platform,
        _tk.assignee_ref,
        _tk.assignee_name,
        _ev.ticket_id,
        _ev.at,
        _tk.tags,
    )
    .join(t.tickets, _tk.id == _ev.ticket_id)
    .where(_ev.kind.in_(_EVENT_KINDS), _window(_ev.at))
)
_NEW_TAGGED = select(_tk.id, _tk.tags).where(_window(_tk.created_at), _tk.tags != "")
_NEW_SUBJECTS = select(_tk.subject).where(_window(_tk.created_at))
_UNANSWERED = (
    select(_tk.number, _tk.subject)
    .select_from(t.ticket_events)
    .join(t.tickets, _tk.id == _ev.ticket_id)
    .where(_ev.kind == str(EventKind.KB_MISSED), _window(_ev.at))
    .order_by(_ev.at, _ev.id)
)
_BACKLOG = (
    select(_tk.status, _tk.priority, _tk.source_platform, func.count())
    .where(_tk.status.in_(_NOT_CLOSED))
    .group_by(_tk.status, _tk.priority, _tk.source_platform)
)
_UNCLAIMED = (
    select(
        _tk.number,
        _tk.subject,
        _tk.source_platform,
        _tk.priority,
        _tk.created_at,
        _tk.staff_channel,
        _tk.staff_thread,
    )
    .where(_tk.status.in_(_NOT_CLOSED), _tk.assignee_ref.is_(None))
    .order_by(_tk.created_at, _tk.id)
    .limit(OLDEST_UNCLAIMED)
)
_RESPONDED = select(_tk.id, _tk.sla_breached_at).where(_window(_tk.first_response_at))
_BREACHED = select(_tk.id).where(_window(_tk.sla_breached_at))
_FOLLOW_UPS_DUE = select(func.count()).where(
    _r.kind == ReminderKind.FOLLOW_UP.value,
    _r.status.in_([ReminderStatus.PENDING.value, ReminderStatus.FIRED.value]),
    _r.due_at < bindparam("today_end"),
)


class SqlReports:
    def __init__(self, conn: WriteBehind) -> None:
        self.conn = conn

    async def digest_view(
        self, since: datetime, until: datetime, today_end: datetime
    ) -> DigestView:
        window = {"since": since, "until": until}
        view = DigestView(since, until)
        for row in await self.conn.execute(_NEW, window):
            platform, count = tuple(row)
            view.new_by_platform[platform] = count
        view.events = await self._audit_lines(window)
        view.new_tagged = {
            row.id: tuple(row.tags.split()) for row in await self.conn.execute(_NEW_TAGGED, window)
        }
        view.new_subjects = [row.subject for row in await self.conn.execute(_NEW_SUBJECTS, window)]
        view.unanswered = [
            (row.number, row.subject) for row in await self.conn.execute(_UNANSWERED, window)
        ]
        view.backlog = [tuple(row) for row in await self.conn.execute(_BACKLOG)]
        view.oldest_unclaimed = [
            UnclaimedTicket(*tuple(row)) for row in await self.conn.execute(_UNCLAIMED)
        ]
        view.responded = {
            row.id: row.sla_breached_at for row in await self.conn.execute(_RESPONDED, window)
        }
        view.breached = {row.id for row in await self.conn.execute(_BREACHED, window)}
        due = await self.conn.execute(_FOLLOW_UPS_DUE, {"today_end": today_end})
        view.follow_ups_due_today = int(due.scalar_one())
        return view

    async def _audit_lines(self, window: dict[str, datetime]) -> list[AuditLine]:
        """The window's events as plain tuples: a large desk's day is tens of thousands."""
        if not self.conn.streams:
            # SQLite read them on a worker; only the lines are made here
            rows = await self.conn.execute(_EVENTS, window)
            return [AuditLine(EventKind(kind), *rest) for kind, *rest in map(tuple, rows)]
        # PostgreSQL: through a server-side cursor, a slice per round trip, so the event loop
        # serves customers between slices instead of waiting for the whole day to be decoded
        lines: list[AuditLine] = []
        result = await self.conn.stream(_EVENTS.execution_options(yield_per=EVENTS_SLICE), window)
        async for part in result.partitions():
            lines += [AuditLine(EventKind(kind), *rest) for kind, *rest in map(tuple, part)]
        return lines
