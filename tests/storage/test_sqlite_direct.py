"""SQLite: a write the process repeats goes to the driver directly (storage.sqlite_direct),
and what it stores, returns and raises is what SQLAlchemy would have stored, returned and
raised; what the direct path cannot do exactly is left to SQLAlchemy."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, StatementError

from storage import tables as t
from storage.engine import Database
from tests.storage.conftest import fresh_database
from tests.storage.sent import SentBySqlAlchemy

AT = datetime(2026, 12, 7, 9, 30, 15, 250000, tzinfo=UTC)
_OUTBOX = insert(t.outbox)
_ATTEMPTED = (
    update(t.outbox)
    .where(t.outbox.c.id == bindparam("b_id"))
    .values(attempts=t.outbox.c.attempts + 1)
)
_INBOUND = sqlite.insert(t.inbound_events).on_conflict_do_nothing(
    index_elements=["platform", "event_id"]
)


def _message(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "conversation": f"slack:D{n}",
        "platform": "slack",
        "audience": "customer",
        "kind": "ack",
        "body": "Hi Ana, thanks for reaching out! 日本語も。",
        "author_name": "",
        "channel": f"D{n}",
        "thread": "",
        "actions": [{"id": "close", "label": "Close"}],
        "mentions": [],
        "data": {"nested": {"a": [1, 2.5, None]}, "flag": True},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": AT,
        # another zone: stored as the same moment in UTC either way
        "created_at": AT.astimezone(timezone(timedelta(hours=9))),
        "platform_message_id": "",
        "last_error": "",
    } | changes


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await fresh_database("sqlite", tmp_path)
    yield db
    await db.dispose()


def _stored(path: Path, table: str) -> list[dict[str, tuple[str, Any]]]:
    """Rows as SQLite holds them (each column's type and value), without SQLAlchemy."""
    with sqlite3.connect(path) as raw:
        columns = [row[1] for row in raw.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
        probe = ", ".join(f"typeof({c}), {c}" for c in columns)
        rows = raw.execute(f"SELECT {probe} FROM {table} ORDER BY id")
        return [{c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(columns)} for row in rows]


async def test_a_repeated_insert_stores_what_sqlalchemy_stores(
    database: Database, tmp_path: Path
) -> None:
    seen = SentBySqlAlchemy(database)
    try:
        async with database.begin() as conn:
            first = await conn.execute(_OUTBOX, _message(1))  # SQLAlchemy's own
            sent_by_sqlalchemy = len(seen.statements)
            second = await conn.execute(_OUTBOX, _message(1))  # the driver's, directly
            third = await conn.execute(_OUTBOX, _message(2, id=500))
    finally:
        seen.close()
    assert sent_by_sqlalchemy >= 1
    assert len(seen.statements) == sent_by_sqlalchemy, "the repeated insert went through SQLAlchemy"
    first_row, second_row, third_row = _stored(tmp_path / "desk.db", "outbox")
    assert second_row == first_row  # datetimes, JSON, text: byte for byte the same
    assert second_row["created_at"] == ("text", "2026-12-07 09:30:15.250000")  # in UTC
    assert second_row["data"] == ("text", '{"nested": {"a": [1, 2.5, null]}, "flag": true}')
    assert third_row != first_row
    # the new rows' keys, as a new ticket reads its id
    assert first.inserted_primary_key is not None
    assert second.inserted_primary_key is not None
    assert second.inserted_primary_key[0] == first.inserted_primary_key[0] + 1
    assert third.inserted_primary_key == (500,)
    assert (first.rowcount, second.rowcount, third.rowcount) == (1, 1, 1)


async def test_a_repeated_update_keeps_its_own_expression_and_counts_its_rows(
    database: Database,
) -> None:
    async with database.begin() as conn:
        ids = [(await conn.execute(_OUTBOX, _message(n))).inserted_primary_key[0] for n in range(3)]
        changes = {"status": "sent", "lease_owner": None}
        await conn.execute(_ATTEMPTED, changes | {"b_id": ids[0]})
        repeated = await conn.execute(_ATTEMPTED, changes | {"b_id": ids[1]})
        again = await conn.execute(_ATTEMPTED, changes | {"b_id": ids[1]})
        missing = await conn.execute(_ATTEMPTED, changes | {"b_id": 999})
        many = await conn.execute(_ATTEMPTED, [changes | {"b_id": i} for i in ids])
        many_again = await conn.execute(_ATTEMPTED, [changes | {"b_id": i} for i in ids])
        rows = (await conn.execute(t.outbox.select().order_by(t.outbox.c.id))).all()
    assert (repeated.rowcount, again.rowcount, missing.rowcount) == (1, 1, 0)
    assert (many.rowcount, many_again.rowcount) == (3, 3)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 3), ("sent", 4), ("sent", 2)]


async def test_a_replayed_event_is_ignored_on_the_direct_path_too(database: Database) -> None:
    row = {"platform": "slack", "received_at": AT, "payload": {"text": "hi"}, "error": ""}
    async with database.begin() as conn:
        counts = [
            (await conn.execute(_INBOUND, row | {"event_id": event_id})).rowcount
            for event_id in ("Ev1", "Ev2", "Ev1", "Ev2", "Ev3")
        ]
    assert counts == [1, 1, 0, 0, 1]


async def test_a_direct_write_fails_as_sqlalchemy_would_and_the_transaction_goes(
    database: Database,
) -> None:
    async def twice_the_same_id() -> None:
        async with database.begin() as conn:
            await conn.execute(_OUTBOX, _message(1, id=7))
            await conn.execute(_OUTBOX, _message(2, id=8))
            await conn.execute(_OUTBOX, _message(3, id=7))  # direct, and refused by SQLite

    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: outbox\.id"):
        await twice_the_same_id()
    async with database.begin() as conn:
        assert (await conn.execute(t.outbox.select())).all() == []


async def test_what_the_direct_path_cannot_do_exactly_sqlalchemy_does(database: Database) -> None:
    returning = _OUTBOX.returning(t.outbox.c.id, t.outbox.c.created_at)
    async with database.begin() as conn:
        await conn.execute(returning, _message(1))
        row = (await conn.execute(returning, _message(2))).first()
        assert row is not None
        assert row.created_at == AT  # read back, as a datetime in UTC
        # a value that will not convert, or a missing one: SQLAlchemy's own error, each time
        for _ in range(2):
            with pytest.raises(StatementError, match="naive datetime"):
                await conn.execute(_OUTBOX, _message(3, created_at=AT.replace(tzinfo=None)))
            with pytest.raises(StatementError, match="b_id"):
                await conn.execute(_ATTEMPTED, {"status": "sent", "lease_owner": None})
