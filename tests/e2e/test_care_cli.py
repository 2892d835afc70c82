"""Reminders through the real `supportbot` command: two workers on one PostgreSQL
database fire each due item exactly once; the digest prints in the terminal."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from bot.model import SYSTEM, Customer, Reminder, ReminderKind, Source, Ticket
from storage import tables as t
from storage.engine import Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from tests.conftest import IN_CI, POSTGRES_URL
from tests.e2e.test_cli import SUPPORTBOT, run

WORKERS_DB = "supportbot_workers"
DUE_ITEMS = 400


async def _fresh_database() -> str:
    admin = POSTGRES_URL.replace("postgresql://", "postgres://", 1)
    try:
        conn = await asyncpg.connect(admin)
    except (OSError, asyncpg.PostgresError) as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {WORKERS_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {WORKERS_DB}")
    finally:
        await conn.close()
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{WORKERS_DB}"


async def _seed_overdue(url: str) -> None:
    """DUE_ITEMS tickets whose follow-up fell due, and a digest that is overdue too."""
    database = Database(url)
    try:
        await upgrade(database)
        past = datetime.now(UTC) - timedelta(hours=1)
        async with SqlUnitOfWork(database) as uow:
            customer = Customer(None, "Cust", "en")
            await uow.customers.add(customer, "shell", "cust")
            assert customer.id is not None
            reminders = []
            for n in range(1, DUE_ITEMS + 1):
                ticket = Ticket(
                    None, n, f"Problem {n}", customer.id, "Cust", "en",
                    Source("shell", "", "dm-cust"), past,
                )  # fmt: skip
                await uow.tickets.add(ticket)
                reminders.append(Reminder(ticket.id, ReminderKind.FOLLOW_UP, past, SYSTEM, past))
            await uow.reminders.add_many(reminders)
            await uow.reminders.add(
                Reminder(None, ReminderKind.DIGEST, past, SYSTEM, past, key="digest")
            )
            await uow.commit()
    finally:
        await database.dispose()


async def _count(url: str, kind: str) -> tuple[int, int]:
    database = Database(url)
    try:
        async with database.begin() as conn:
            ob = t.outbox.c
            stmt = select(func.count(), func.count(ob.ticket_id.distinct())).where(ob.kind == kind)
            [row] = (await conn.execute(stmt)).all()  # exactly one row, as .one() checked
            # storage's Rows types a row as Row[Any], which SQLAlchemy 2.1 reads as one column
            messages, tickets = tuple(row)
            return messages, tickets
    finally:
        await database.dispose()


def test_two_workers_fire_every_due_item_exactly_once(tmp_path: Path) -> None:
    url = asyncio.run(_fresh_database())
    asyncio.run(_seed_overdue(url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env |= {"DATABASE_URL": url, "SUPPORTBOT_LOG_LEVEL": "WARNING"}
    workers = [
        subprocess.Popen(
            [SUPPORTBOT, "tick"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    fired = [int(re.search(r"fired (\d+)", out).group(1)) for out in outputs]  # type: ignore[union-attr]
    assert sum(fired) == DUE_ITEMS + 1  # every follow-up and the digest
    assert min(fired) > 0, f"one worker did everything ({fired}); they did not overlap"
    assert asyncio.run(_count(url, "followup_due")) == (DUE_ITEMS, DUE_ITEMS)
    assert asyncio.run(_count(url, "digest"))[0] == 1


def test_digest_print_shows_the_last_day(tmp_path: Path) -> None:
    session = "alice> My invoice is wrong\n@bob> /ticket claim\nbob2> Password reset?\n"
    assert run(tmp_path, "run", stdin=session).returncode == 0
    result = run(tmp_path, "digest", "--print", SUPPORTBOT_TIMEZONE="Asia/Tokyo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Daily digest (" in out
    assert "JST" in out
    assert "New 2 · Closed 0" in out
    assert "• shell: 2 new, 0 closed, 2 open" in out
    assert "#2 Password reset?" in out  # the oldest unclaimed, without a link in a terminal
    assert re.search(r"bob\s+1\s+0", out)  # bob claimed one
    assert "**" not in out  # plain text for a terminal, not chat Markdown
    assert "```" not in out


def test_tick_without_a_database_says_why(tmp_path: Path) -> None:
    result = run(tmp_path, "tick", DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "database error" in result.stderr
