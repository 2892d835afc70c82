"""Agents' shifts, for round-robin assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from bot.model import Duty
from storage import tables as t
from storage.engine import Conn
from storage.rows import person_from, tags_column
from storage.sqlite import quick
from storage.upsert import upserts

_d = t.agent_duty.c
_GET = quick(select(t.agent_duty).where(_d.agent_ref == bindparam("agent_ref")))
# read with every new ticket: a row per agent is a table small enough to read on the loop,
# where the hop to a worker (while the ticket holds SQLite's writer turn) cost more
_ALL = quick(select(t.agent_duty).order_by(_d.agent_name, _d.agent_ref))
_ASSIGNED = (
    update(t.agent_duty)
    .where(_d.agent_ref == bindparam("b_ref"))
    .values(last_assigned_at=bindparam("b_at"))
)
_CHANGED = ("agent_name", "teams", "on_duty", "since")
_PUT = upserts(t.agent_duty, ["agent_ref"], _CHANGED)


class SqlDuty:
    def __init__(self, conn: Conn, dialect: str) -> None:
        self.conn = conn
        self._put = _PUT[dialect]

    async def put(self, duty: Duty) -> None:
        row = {
            "agent_ref": duty.agent.ref,
            "agent_name": duty.agent.name[:200],
            "teams": tags_column(duty.teams),
            "on_duty": duty.on,
            "since": duty.since,
            "last_assigned_at": duty.last_assigned_at,
        }
        await self.conn.execute(self._put, row)

    async def get(self, agent_ref: str) -> Duty | None:
        row = (await self.conn.execute(_GET, {"agent_ref": agent_ref})).first()
        return _duty(row) if row else None

    async def all(self) -> list[Duty]:
        return [_duty(row) for row in await self.conn.execute(_ALL)]

    async def assigned(self, agent_ref: str, at: datetime) -> None:
        await self.conn.execute(_ASSIGNED, {"b_ref": agent_ref, "b_at": at})


def _duty(row: Any) -> Duty:
    agent = person_from(row.agent_ref, row.agent_name)
    assert agent is not None
    return Duty(agent, tuple(row.teams.split()), bool(row.on_duty), row.since, row.last_assigned_at)
