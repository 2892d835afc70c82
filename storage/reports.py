"""The leads' digest in a handful of indexed queries. Only the last day's rows are read
(by the created_at / closed_at / first_response_at / sla_breached_at and event (kind, at)
indexes); the backlog reads the tickets that are not closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from bot.kinds import EventKind
from bot.model import SYSTEM, ReminderKind, ReminderStatus, Status
from bot.reports import AgentLine, DigestFigures, PlatformLine, UnclaimedTicket
from storage import tables as t
from storage.engine import Conn

_tk = t.tickets.c
_ev = t.ticket_events.c
_r = t.reminders.c
_NOT_CLOSED = [s.value for s in Status if s is not Status.CLOSED]
_COUNTED = (
    EventKind.CLOSED,
    EventKind.REOPENED,
    EventKind.ESCALATED,
    EventKind.CLAIMED,
    EventKind.FIRST_RESPONSE,
    EventKind.RATED,
)
_EVENT_KINDS = [str(kind) for kind in _COUNTED]
_AGENTS_OWN = (EventKind.CLOSED, EventKind.CLAIMED, EventKind.FIRST_RESPONSE)
OLDEST_UNCLAIMED = 5


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
    )
    .join(t.tickets, _tk.id == _ev.ticket_id)
    .where(_ev.kind.in_(_EVENT_KINDS), _window(_ev.at))
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
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def digest(self, since: datetime, until: datetime, today_end: datetime) -> DigestFigures:
        window = {"since": since, "until": until}
        figures = DigestFigures(since, until)
        platforms: dict[str, PlatformLine] = {}

        def line(platform: str) -> PlatformLine:
            return platforms.setdefault(platform, PlatformLine(platform))

        for row in await self.conn.execute(_NEW, window):
            platform, count = tuple(row)
            line(platform).new = count
            figures.new += count
        await self._events(figures, window, line)
        for row in await self.conn.execute(_BACKLOG):
            status, priority, platform, count = tuple(row)
            by_priority = figures.backlog.setdefault(status, {})
            by_priority[priority] = by_priority.get(priority, 0) + count
            line(platform).backlog += count
        figures.oldest_unclaimed = [
            UnclaimedTicket(*tuple(row)) for row in await self.conn.execute(_UNCLAIMED)
        ]
        responded = {
            row.id: row.sla_breached_at for row in await self.conn.execute(_RESPONDED, window)
        }
        breached = {row.id for row in await self.conn.execute(_BREACHED, window)}
        figures.targets_decided = len(responded.keys() | breached)
        figures.targets_met = sum(1 for at in responded.values() if at is None)
        figures.breaches = len(breached)
        due = await self.conn.execute(_FOLLOW_UPS_DUE, {"today_end": today_end})
        figures.follow_ups_due_today = int(due.scalar_one())
        figures.platforms = sorted(platforms.values(), key=lambda p: p.platform)
        return figures

    async def _events(self, figures: DigestFigures, window: dict[str, Any], line: Any) -> None:
        agents: dict[str, AgentLine] = {}

        def agent(ref: str | None, name: str | None) -> AgentLine | None:
            if not ref or ref == SYSTEM.ref:  # the bot's own closes are not an agent's work
                return None
            found = agents.setdefault(ref, AgentLine(name or ref))
            found.name = name or found.name
            return found

        for row in await self.conn.execute(_EVENTS, window):
            stored, actor_ref, actor_name, data, platform, assignee_ref, assignee_name = tuple(row)
            kind = EventKind(stored)
            # customers act too (ratings); only these kinds are an agent's own work
            by_actor = agent(actor_ref, actor_name) if kind in _AGENTS_OWN else None
            if kind is EventKind.CLOSED:
                figures.closed += 1
                line(platform).closed += 1
                figures.resolutions.append(int(data.get("resolution_seconds", 0)))
                if by_actor:
                    by_actor.closed += 1
            elif kind is EventKind.REOPENED:
                figures.reopened += 1
            elif kind is EventKind.ESCALATED:
                figures.escalated += 1
            elif kind is EventKind.CLAIMED and by_actor:
                by_actor.claimed += 1
            elif kind is EventKind.FIRST_RESPONSE:
                seconds = int(data.get("seconds", 0))
                figures.first_responses.append(seconds)
                if by_actor:
                    by_actor.first_responses.append(seconds)
            elif kind is EventKind.RATED:
                score = int(data.get("score", 0))
                figures.ratings.append(score)
                holder = agent(assignee_ref, assignee_name)
                if holder:
                    holder.ratings.append(score)
        figures.agents = sorted(agents.values(), key=lambda a: a.name.lower())
