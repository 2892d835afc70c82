"""The outbox repository: pending rows per conversation, oldest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from bot.model import OutboundMessage
from storage import tables as t
from storage.engine import Conn
from storage.rows import outbound_from, outbound_values

_ob = t.outbox.c
_earlier = t.outbox.alias("earlier")
_DUE = (
    select(t.outbox)
    .where(
        _ob.status == "pending",
        _ob.next_attempt_at <= bindparam("now"),
        ~select(_earlier.c.id)
        .where(
            _earlier.c.conversation == _ob.conversation,
            _earlier.c.status == "pending",
            _earlier.c.id < _ob.id,
        )
        .exists(),
    )
    .order_by(_ob.id)
    .limit(bindparam("limit"))
)
_INSERT = insert(t.outbox)
_SET_OUTBOX = update(t.outbox).where(_ob.id == bindparam("b_id"))


class SqlOutbox:
    """Rows added in a unit of work are written in one statement when it commits."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._pending: list[dict[str, Any]] = []

    async def add(self, message: OutboundMessage, at: datetime) -> None:
        self._pending.append(
            outbound_values(message)
            | {
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
                "platform_message_id": "",
                "last_error": "",
            }
        )

    async def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await self.conn.execute(_INSERT, rows)

    async def due(self, now: datetime, limit: int) -> list[OutboundMessage]:
        await self.flush()
        rows = await self.conn.execute(_DUE, {"now": now, "limit": limit})
        return [outbound_from(r) for r in rows]

    async def start_attempt(self, message_id: int, at: datetime) -> None:
        await self.conn.execute(_SET_OUTBOX, {"b_id": message_id, "attempt_started_at": at})

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None:
        await self._set(
            message_id,
            status="sent",
            sent_at=at,
            platform_message_id=platform_message_id,
            attempt_started_at=None,
        )

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
        stmt = _SET_OUTBOX.values(attempts=_ob.attempts + 1)
        await self.conn.execute(stmt, values | {"b_id": message_id})

    async def pending_count(self) -> int:
        await self.flush()
        stmt = select(func.count()).where(_ob.status == "pending")
        return int((await self.conn.execute(stmt)).scalar_one())
