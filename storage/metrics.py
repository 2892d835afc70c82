"""What /metrics reads from the database when it is scraped: the figures every process
shares and that outlive a restart. One read-only snapshot (no SQLite write lock taken), a few
queries, each on an index or the tickets table once; the closes, which grow with every ticket
ever closed, are a running total that each scrape brings up to date from the newest events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import BindParameter, Connection, Integer, and_, bindparam, case, func, select

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
# figure only grows, as a Prometheus counter must (events are never deleted)
_AFTER: BindParameter[int] = bindparam("after", type_=Integer)
_UPTO: BindParameter[int] = bindparam("upto", type_=Integer)
_CLOSES = (
    select(_tk.source_platform, func.count(), func.count(case((_ev.id <= _UPTO, 1))))
    .select_from(t.ticket_events.join(t.tickets, _tk.id == _ev.ticket_id))
    # the id range is the narrow condition: `kind || ''` keeps SQLite, which has no
    # statistics, from reading every close through the index on kind instead
    .where(_ev.kind.concat("") == EventKind.CLOSED.value, _ev.id > _AFTER)
    .group_by(_tk.source_platform)
)
_LAST_EVENT = select(func.max(_ev.id))
# how long a transaction may hold an event id before it commits: PostgreSQL hands ids out in
# one order and transactions commit in another, so a total folds in only events whose ids were
# seen this long ago; anything younger is counted afresh at each scrape
SETTLE = timedelta(minutes=10)
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


class Closes:
    """Closes by platform as a running total: `settled` counts every Closed event up to the
    id `upto`; a scrape counts only the events after it (an index range, however many tickets
    were ever closed) and, once the newest id it saw has settled, folds them in. A process's
    first scrape counts them all."""

    def __init__(self, now: Callable[[], datetime], settle: timedelta = SETTLE) -> None:
        self.now = now
        self.settle = settle
        self.settled: Counter[str] = Counter()
        self.upto = 0
        self._mark: tuple[datetime, int] | None = None  # (when seen, the newest event id then)

    def read(self, conn: Connection) -> Counter[str]:
        now, mark = self.now(), self._mark
        fold = mark[1] if mark is not None and now - mark[0] >= self.settle else self.upto
        total = Counter(self.settled)
        folded: Counter[str] = Counter()
        for platform, closes, settled in conn.execute(_CLOSES, {"after": self.upto, "upto": fold}):
            total[platform] += closes
            folded[platform] += settled
        if fold != self.upto:
            self.settled.update(folded)
            self.upto, self._mark = fold, None
        if self._mark is None:
            self._mark = (now, conn.execute(_LAST_EVENT).scalar() or 0)
        return total


async def desk_figures(database: Database, closes: Closes | None = None) -> DeskFigures:
    """`closes`: the running total kept between scrapes (without one, every close is counted)."""
    tally = closes or Closes(lambda: datetime.now(UTC))
    return await database.snapshot(partial(_read, tally=tally))


def _read(conn: Connection, tally: Closes) -> DeskFigures:
    figures = DeskFigures()
    for platform, opened, met, breached in conn.execute(_TICKETS):
        figures.opened[platform] = opened
        figures.targets_met[platform] = met
        figures.targets_breached[platform] = breached
    figures.closed = tally.read(conn)
    for platform, count, oldest in conn.execute(_PENDING):
        figures.pending[platform] = count
        figures.oldest_pending[platform] = oldest  # min() keeps the column's type: aware UTC
    figures.next_reminder_due = conn.execute(_OVERDUE).scalar()
    return figures
