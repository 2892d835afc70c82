"""The outbox repository: pending rows per conversation, oldest first, leased to a worker.

A worker claims the oldest pending message of each conversation that is due and not leased
by another live worker. The claim locks the rows it takes (FOR UPDATE SKIP LOCKED on
PostgreSQL), so workers sharing a database never take the same row; the lease's expiry lets
another take over a dead worker's rows. The next message of a conversation is no one's to
claim until the one before it is sent or failed, so each conversation goes out in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    bindparam,
    case,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from bot.model import Audience, OutboundMessage, Ticket
from storage import tables as t
from storage.rows import outbound_from, outbound_values
from storage.sqlite import quick
from storage.write_behind import WriteBehind

_ob = t.outbox.c
_DUE = select(t.outbox).where(
    _ob.status == "pending",
    _ob.next_attempt_at <= bindparam("now"),
    or_(_ob.lease_until.is_(None), _ob.lease_until < bindparam("now")),
)
# Due messages that are the oldest pending one of their conversation. SQLite asks each due
# message whether an earlier one is pending, one probe of ix_outbox_conversation_status_id.
_earlier = t.outbox.alias("earlier")
_SQLITE_HEADS = _DUE.where(
    ~select(_earlier.c.id)
    .where(
        _earlier.c.conversation == _ob.conversation,
        _earlier.c.status == "pending",
        _earlier.c.id < _ob.id,
    )
    .exists()
)
# PostgreSQL may plan that question as a scan of every pending message for each one: it
# plans from the outbox's size and statistics as they were (nearly empty before a burst,
# and a prepared statement keeps its plan), and a claim then took 0.25 to 0.45 s for 2,000
# pending messages, seconds for an outage's backlog, after every send. So each
# conversation's first pending message is found once per claim, in one pass: an array
# computed before the rest of the plan, whatever that plan is, and joined by id.
_heads = t.outbox.alias("heads")
_FIRSTS = (
    select(func.min(_heads.c.id).label("id"))
    .where(_heads.c.status == "pending")
    .group_by(_heads.c.conversation)
    .subquery("firsts")
)
_FIRST_IDS = (
    func.unnest(
        func.coalesce(
            select(func.array_agg(_FIRSTS.c.id)).scalar_subquery(),
            literal_column("'{}'::integer[]"),  # none pending
        )
    )
    .table_valued("id")
    .render_derived(name="first")
)
_POSTGRESQL_HEADS = _DUE.join(_FIRST_IDS, _ob.id == _FIRST_IDS.c.id)
_HEADS = {"sqlite": _SQLITE_HEADS, "postgresql": _POSTGRESQL_HEADS}
# customers first: an acknowledgement never queues behind the staff channel's backlog
_CUSTOMERS_FIRST = case((_ob.audience == Audience.CUSTOMER.value, 0), else_=1)


def _claimable(dialect: str, customers_only: bool) -> Any:
    stmt = _HEADS[dialect]
    if customers_only:
        stmt = stmt.where(_ob.audience == Audience.CUSTOMER.value)
    return (
        stmt.order_by(_CUSTOMERS_FIRST, _ob.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=t.outbox)
    )


_CLAIMABLE = {
    (dialect, flag): _claimable(dialect, flag)
    for dialect in ("sqlite", "postgresql")
    for flag in (False, True)
}
_BY_IDS = _ob.id.in_(bindparam("ids", expanding=True))
_LEASE = update(t.outbox).where(_BY_IDS)
# the rows locked in the order of their ids (PostgreSQL), as the sender writes its results:
# an UPDATE locks them in whatever order it finds them, and two transactions taking the same
# rows in two orders would each wait for the other
_RENEWABLE = (
    select(_ob.id)
    .where(_BY_IDS, _ob.lease_owner == bindparam("owner"), _ob.status == "pending")
    .order_by(_ob.id)
    .with_for_update()
)
_RENEW = (
    update(t.outbox)
    .where(_ob.id.in_(_RENEWABLE.scalar_subquery()))
    .values(lease_until=bindparam("until"))
    .returning(_ob.id)
)
_RELEASE = (
    update(t.outbox)
    .where(_BY_IDS, _ob.lease_owner == bindparam("owner"), _ob.status == "pending")
    .values(lease_owner=None, lease_until=None)
)
# PostgreSQL: with the unit's waiting rows, ids in the rows' order (WriteBehind.insert_in_order).
# SQLite would send RETURNING in parameter order as one INSERT a row; without it the rows
# go in one executemany, and a unit of work that holds the write lock gets consecutive ids
# (one past the largest, row by row), so the last id names them all
_INSERT = insert(t.outbox)
_LAST_ID = quick(select(func.last_insert_rowid()))
_SET_OUTBOX = update(t.outbox).where(_ob.id == bindparam("b_id"))
_ATTEMPTED = _SET_OUTBOX.values(attempts=_ob.attempts + 1)
_UNLEASED = {"lease_owner": None, "lease_until": None}


@dataclass(frozen=True)
class HandOff:
    """This process's outbox sender, ready to take the first messages of a new ticket."""

    owner: str
    lease: timedelta


class SqlOutbox:
    """Rows added in a unit of work are written in one statement when it commits.

    With a `HandOff`, the first message of each conversation that a new ticket opened in this
    unit of work (its acknowledgement, its card) is written already leased to this process's
    sender and marked as under way: nobody else can have written to a ticket that did not
    exist, so no earlier message can be pending, and the sender takes it without a claim or a
    start of its own (a crash leaves it in doubt, looked for before it is sent again)."""

    def __init__(
        self,
        conn: WriteBehind,
        dialect: str,
        handoff: HandOff | None = None,
        opened: Mapping[int, Ticket] = {},
    ) -> None:
        self.conn = conn
        self._sqlite = dialect == "sqlite"
        self._handoff = handoff
        self._opened = opened
        self._pending: list[tuple[OutboundMessage, dict[str, Any]]] = []
        self.handed: list[tuple[OutboundMessage, Ticket]] = []  # written, for the sender
        self.claim_due = False  # written, for a claim: not queued behind a handed one

    async def add(self, message: OutboundMessage, at: datetime) -> None:
        values = outbound_values(message) | {
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
            "platform_message_id": "",
            "last_error": "",
            # one shape for every row of the statement; a hand-off fills these in
            "lease_owner": None,
            "lease_until": None,
            "attempt_started_at": None,
        }
        self._pending.append((message, values))

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        handed = self._hand_off(pending)
        behind = {pending[index][0].conversation for index, _ in handed}
        self.claim_due |= any(message.conversation not in behind for message, _ in pending)
        rows = [values for _, values in pending]
        if not self._sqlite:
            ids = await self.conn.insert_in_order(_INSERT, rows)
        else:
            await self.conn.execute(_INSERT, rows)
            if not handed:
                return
            last = int((await self.conn.execute(_LAST_ID)).scalar_one())
            ids = list(range(last - len(rows) + 1, last + 1))
        for index, ticket in handed:
            message, values = pending[index]
            message.id, message.created_at = ids[index], values["created_at"]
            self.handed.append((message, ticket))

    def _hand_off(
        self, pending: list[tuple[OutboundMessage, dict[str, Any]]]
    ) -> list[tuple[int, Ticket]]:
        if self._handoff is None or not self._opened:
            return []
        handed, heads = [], set()
        for index, (message, values) in enumerate(pending):
            ticket = self._opened.get(message.ticket_id or 0)
            if ticket is None or message.conversation in heads:
                continue
            heads.add(message.conversation)
            at = values["created_at"]
            values |= {
                "lease_owner": self._handoff.owner,
                "lease_until": at + self._handoff.lease,
                "attempt_started_at": at,
            }
            handed.append((index, ticket))
        return handed

    async def claim(
        self, now: datetime, limit: int, owner: str, until: datetime, *, customers_only: bool
    ) -> list[OutboundMessage]:
        await self.flush()
        params = {"now": now, "limit": limit}
        claimable = _CLAIMABLE["sqlite" if self._sqlite else "postgresql", customers_only]
        claimed = [outbound_from(r) for r in await self.conn.execute(claimable, params)]
        if claimed:
            ids = [m.id for m in claimed]
            await self.conn.execute(
                _LEASE.values(lease_owner=owner, lease_until=until), {"ids": ids}
            )
        return claimed

    async def renew(self, message_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        params = {"ids": list(message_ids), "owner": owner, "until": until}
        rows = await self.conn.execute(_RENEW, params)
        return {int(r[0]) for r in rows}

    async def release(self, message_ids: Sequence[int], owner: str) -> None:
        if message_ids:
            await self.conn.execute(_RELEASE, {"ids": list(message_ids), "owner": owner})

    async def start_attempts(self, message_ids: Sequence[int], at: datetime) -> None:
        if message_ids:
            await self.conn.execute(
                _LEASE.values(attempt_started_at=at), {"ids": list(message_ids)}
            )

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None:
        # with the transaction's next statement: the messages sent together are marked in
        # one round trip (on PostgreSQL), in the order they are given
        values = {
            "status": "sent",
            "sent_at": at,
            "platform_message_id": platform_message_id,
            "attempt_started_at": None,
        }
        await self.conn.later(_ATTEMPTED, values | _UNLEASED | {"b_id": message_id})

    async def mark_retry(
        self, message_id: int, next_attempt_at: datetime, error: str, *, in_doubt: bool = False
    ) -> None:
        values: dict[str, Any] = {"next_attempt_at": next_attempt_at, "last_error": error}
        if not in_doubt:  # the platform answered: it did not take the message
            values["attempt_started_at"] = None
        await self._set(message_id, **values)

    async def mark_warned(self, message_id: int, at: datetime) -> None:
        await self.conn.execute(_SET_OUTBOX, {"b_id": message_id, "warned_at": at})

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        await self._set(
            message_id, status="failed", last_error=error, sent_at=at, attempt_started_at=None
        )

    async def _set(self, message_id: int, **values: Any) -> None:
        """An attempt's result: counted, and the row is free for whoever is next."""
        await self.conn.execute(_ATTEMPTED, values | _UNLEASED | {"b_id": message_id})

    async def pending_count(self) -> int:
        await self.flush()
        stmt = select(func.count()).where(_ob.status == "pending")
        return int((await self.conn.execute(stmt)).scalar_one())
