"""The block list: customers whose messages open no ticket, and who blocked them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update

from bot.model import Block, Person
from storage import tables as t
from storage.engine import Conn, new_id
from storage.rows import person_from

_b = t.customer_blocks.c
_IN_FORCE = (_b.lifted_at.is_(None), or_(_b.until.is_(None), _b.until > bindparam("b_now")))
_INSERT = insert(t.customer_blocks)
_SELECT = select(t.customer_blocks, t.customers.c.display_name).join(
    t.customers, t.customers.c.id == _b.customer_id
)
_ACTIVE = (
    _SELECT.where(_b.customer_id == bindparam("b_customer_id"), *_IN_FORCE)
    .order_by(_b.id.desc())
    .limit(1)
)
_ALL_IN_FORCE = _SELECT.where(*_IN_FORCE).order_by(_b.id.desc())
_LIFT = (
    update(t.customer_blocks)
    .where(_b.customer_id == bindparam("b_customer_id"), *_IN_FORCE)
    .values(lifted_at=bindparam("b_at"), lifted_by_name=bindparam("b_by"))
)
# only the first of two racing intakes gets to tell the customer
_NOTICE = (
    update(t.customer_blocks)
    .where(_b.id == bindparam("b_id"), _b.noticed_at.is_(None))
    .values(noticed_at=bindparam("b_at"))
)


class SqlBlocks:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, block: Block) -> None:
        written = await self.conn.execute(
            _INSERT,
            {
                "customer_id": block.customer_id,
                "by_ref": block.by.ref,
                "by_name": block.by.name[:200],
                "reason": block.reason,
                "blocked_at": block.at,
                "until": block.until,
                "noticed_at": block.at if block.noticed else None,
                "lifted_at": None,
                "lifted_by_name": "",
            },
        )
        block.id = new_id(written)

    async def active(self, customer_id: int, now: datetime) -> Block | None:
        params = {"b_customer_id": customer_id, "b_now": now}
        row = (await self.conn.execute(_ACTIVE, params)).first()
        return _block(row) if row else None

    async def lift(self, customer_id: int, by: Person, at: datetime) -> int:
        params = {"b_customer_id": customer_id, "b_now": at, "b_at": at, "b_by": by.name[:200]}
        return (await self.conn.execute(_LIFT, params)).rowcount

    async def mark_noticed(self, block_id: int, at: datetime) -> bool:
        return (await self.conn.execute(_NOTICE, {"b_id": block_id, "b_at": at})).rowcount == 1

    async def in_force(self, now: datetime) -> list[Block]:
        return [_block(row) for row in await self.conn.execute(_ALL_IN_FORCE, {"b_now": now})]


def _block(row: Any) -> Block:
    by = person_from(row.by_ref, row.by_name)
    assert by is not None
    return Block(
        row.customer_id,
        by,
        row.blocked_at,
        row.until,
        row.reason,
        row.display_name,
        row.noticed_at is not None,
        row.id,
    )
