"""Transcripts as made at each close: the record of a ticket's conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select

from storage import tables as t
from storage.engine import Conn

_tr = t.transcripts.c
_INSERT = insert(t.transcripts)
_LATEST = (
    select(_tr.made_at, _tr.document)
    .where(_tr.ticket_id == bindparam("ticket_id"))
    .order_by(_tr.id.desc())
    .limit(1)
)


class SqlTranscripts:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, ticket_id: int, made_at: datetime, document: dict[str, Any]) -> None:
        await self.conn.execute(
            _INSERT, {"ticket_id": ticket_id, "made_at": made_at, "document": document}
        )

    async def latest(self, ticket_id: int) -> tuple[datetime, dict[str, Any]] | None:
        row = (await self.conn.execute(_LATEST, {"ticket_id": ticket_id})).first()
        return (row.made_at, dict(row.document)) if row else None
