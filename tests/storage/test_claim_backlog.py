"""A backlog (an outage's burst waiting for the staff channel's rate) costs each claim work in
proportion to the backlog, whatever PostgreSQL's statistics say.

PostgreSQL plans from the outbox's size and statistics as they were when few messages were
pending. Asked per message, "no earlier pending message in the conversation" was planned as
an anti-join, or as a scan of every pending message for each one: either compared every
pending message with every other (a quarter of a second a claim for 2,000 pending messages,
seconds for an outage's backlog)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.kinds import MessageKind
from bot.model import Audience, OutboundMessage
from storage.engine import Database
from storage.outbox import _CLAIMABLE
from storage.uow import SqlUnitOfWork
from tests.conftest import POSTGRES_URL
from tests.contract.conftest import AT, add_customer, add_ticket
from tests.storage.conftest import SCHEMA, fresh_database

TICKETS = 1000  # two staff messages each: the first is claimable, the second waits for it
PENDING = 2 * TICKETS
NOW = AT + timedelta(seconds=1)


def _rows_handled(plan: dict[str, Any]) -> int:
    """Rows that every node of the plan produced or threw away, over all its loops (EXPLAIN
    gives each count per loop)."""
    per_loop = (
        plan.get("Actual Rows", 0)
        + plan.get("Rows Removed by Filter", 0)
        + plan.get("Rows Removed by Join Filter", 0)
    )
    handled = per_loop * plan.get("Actual Loops", 1)
    return int(handled) + sum(_rows_handled(child) for child in plan.get("Plans", []))


async def test_a_claim_handles_each_pending_message_a_few_times_not_once_per_other(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path)  # never analysed: as before a burst
    try:
        await _backlog(database)
        async with SqlUnitOfWork(database) as uow:
            claimed = await uow.outbox.claim(NOW, 100, "w", NOW, customers_only=False)
            assert len(claimed) == 100
            assert len({m.ticket_id for m in claimed}) == 100  # each ticket's first
            await uow.rollback()
        plan = await _claims_plan(database)
    finally:
        await database.dispose()
    # asked per message, the plans handled some pending² / 2 rows (three million here)
    assert _rows_handled(plan) < 10 * PENDING, json.dumps(plan, indent=1)


async def test_a_claim_stays_linear_in_a_session_that_claimed_while_the_outbox_was_empty(
    tmp_path: Path,
) -> None:
    """A worker's connection claims before a burst (an empty outbox), writes the burst, and
    claims again. In such a session PostgreSQL planned the old claim's "no earlier pending
    message" as a scan of every pending message for each one (a quarter of a second for
    2,000 pending messages, seconds for an outage's backlog)."""
    await (await fresh_database("postgresql", tmp_path)).dispose()  # the schema, migrated
    database = Database(  # one connection, as one worker's in turn
        POSTGRES_URL,
        pool_size=1,
        max_overflow=0,
        connect_args={"server_settings": {"search_path": SCHEMA}},
    )
    try:
        async with SqlUnitOfWork(database) as uow:
            assert await uow.outbox.claim(NOW, 100, "w", NOW, customers_only=False) == []
            await uow.commit()
        await _backlog(database)
        plan = await _claims_plan(database)
    finally:
        await database.dispose()
    assert _rows_handled(plan) < 10 * PENDING, json.dumps(plan, indent=1)


async def _claims_plan(database: Database) -> dict[str, Any]:
    """The claim as PostgreSQL runs it now, with what each step of it handled."""
    compiled = _CLAIMABLE["postgresql", False].compile(dialect=database.sync_engine.dialect)
    params = compiled.construct_params({"now": NOW, "limit": 100})
    assert compiled.positiontup is not None
    async with database.begin() as conn:
        assert isinstance(conn, AsyncConnection)
        result = await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}",
            tuple(params[name] for name in compiled.positiontup),
        )
        [[explained]] = result.all()
    plans = json.loads(explained) if isinstance(explained, str) else explained
    plan: dict[str, Any] = plans[0]["Plan"]
    return plan


async def _backlog(database: Database) -> None:
    """Two staff messages for each of TICKETS tickets: the first is claimable, the second
    waits for it."""
    message = OutboundMessage("slack", Audience.STAFF, MessageKind.CUSTOMER_MESSAGE, "Where?")
    async with SqlUnitOfWork(database) as uow:
        customer_id = await add_customer(uow)
        for n in range(TICKETS):
            ticket = await add_ticket(uow, n + 1, customer_id)
            for _ in range(2):
                await uow.outbox.add(replace(message, ticket_id=ticket.id), AT)
        await uow.commit()
