"""A backlog (an outage's burst waiting for the staff channel's rate) costs each claim work in
proportion to the backlog, whatever PostgreSQL's statistics say.

PostgreSQL plans from statistics taken when few messages were pending; planned as an
anti-join, "no earlier pending message in the conversation" compared every pending row with
every other, and each claim of a 600-message backlog took 60 ms (seconds for thousands)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.kinds import MessageKind
from bot.model import Audience, OutboundMessage
from storage.outbox import _CLAIMABLE
from storage.uow import SqlUnitOfWork
from tests.contract.conftest import AT, add_customer, add_ticket
from tests.storage.conftest import fresh_database

TICKETS = 1000  # two staff messages each: the first is claimable, the second waits for it


def _rows_handled(plan: dict[str, Any]) -> int:
    """Rows that every node of the plan produced or threw away, over all its loops."""
    handled = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1)
    handled += plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Join Filter", 0)
    return int(handled) + sum(_rows_handled(child) for child in plan.get("Plans", []))


async def test_a_claim_handles_each_pending_message_a_few_times_not_once_per_other(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path)  # never analysed: as before a burst
    try:
        message = OutboundMessage("slack", Audience.STAFF, MessageKind.CUSTOMER_MESSAGE, "Where?")
        async with SqlUnitOfWork(database) as uow:
            customer_id = await add_customer(uow)
            for n in range(TICKETS):
                ticket = await add_ticket(uow, n + 1, customer_id)
                for _ in range(2):
                    await uow.outbox.add(replace(message, ticket_id=ticket.id), AT)
            await uow.commit()
        now = AT + timedelta(seconds=1)
        async with SqlUnitOfWork(database) as uow:
            claimed = await uow.outbox.claim(now, 100, "w", now, customers_only=False)
            assert len(claimed) == 100
            assert len({m.ticket_id for m in claimed}) == 100  # each ticket's first
            await uow.rollback()

        compiled = _CLAIMABLE[False].compile(dialect=database.sync_engine.dialect)
        params = compiled.construct_params({"now": now, "limit": 100})
        assert compiled.positiontup is not None
        async with database.begin() as conn:
            assert isinstance(conn, AsyncConnection)
            result = await conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}",
                tuple(params[name] for name in compiled.positiontup),
            )
            [[explained]] = result.all()
    finally:
        await database.dispose()
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    pending = 2 * TICKETS
    # the anti-join handled some pending² rows (six million here); the probes, 3,800
    assert _rows_handled(plan) < 10 * pending, json.dumps(plan, indent=1)
