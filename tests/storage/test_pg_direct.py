"""PostgreSQL: a statement the process repeats goes to asyncpg directly (storage.pg_direct),
inside the transaction SQLAlchemy keeps, and what it stores, reads and raises is what
SQLAlchemy would have stored, read and raised; the rest is left to SQLAlchemy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Integer,
    String,
    TypeDecorator,
    bindparam,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from storage import tables as t
from storage.engine import Database, is_outage
from storage.write_behind import WriteBehind
from tests.storage.conftest import fresh_database
from tests.storage.sent import SentBySqlAlchemy, SentToPostgresql
from tests.storage.test_sqlite_direct import _message

AT = datetime(2026, 12, 7, 9, 30, 15, 250000, tzinfo=UTC)
ob = t.outbox.c
_ADD = insert(t.outbox).returning(ob.id, ob.created_at, ob.data, ob.body, ob.actions)
_READ = (
    select(ob.id, ob.created_at, ob.data, ob.body, ob.status)
    .where(ob.conversation == bindparam("conversation"))
    .order_by(ob.id)
)
_ATTEMPTED = update(t.outbox).where(ob.id == bindparam("b_id")).values(attempts=ob.attempts + 1)
_COUNT = select(func.count()).select_from(t.outbox)
_ADD_INBOUND = insert(t.inbound_events).returning(t.inbound_events.c.id)


class _Shouted(TypeDecorator[str]):
    """A type whose values SQLAlchemy converts as it reads them."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value).upper()


_SHOUTED = select(type_coerce(ob.body, _Shouted()).label("body")).order_by(ob.id)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await fresh_database("postgresql", tmp_path)
    yield db
    await db.dispose()


def _writes(conn: Any, database: Database) -> WriteBehind:
    return WriteBehind(conn, "postgresql", database.direct)


async def _two_messages(database: Database) -> None:
    async with database.begin() as conn:
        for n in range(2):
            await _writes(conn, database).execute(_ADD, _message(n))


async def test_a_repeated_statement_writes_and_reads_what_sqlalchemy_does(
    database: Database,
) -> None:
    seen = SentBySqlAlchemy(database)
    try:
        async with database.begin() as conn:
            writes = _writes(conn, database)
            first = (await writes.execute(_ADD, _message(1))).first()  # SQLAlchemy's own
            read_once = (await writes.execute(_READ, {"conversation": "slack:D1"})).all()
            by_sqlalchemy = len(seen.statements)
            second = (await writes.execute(_ADD, _message(1))).first()  # asyncpg's, directly
            read_again = (await writes.execute(_READ, {"conversation": "slack:D1"})).all()
    finally:
        seen.close()
    assert by_sqlalchemy == 2
    assert len(seen.statements) == by_sqlalchemy, "a repeated statement went through SQLAlchemy"
    assert first is not None
    assert second is not None
    assert second.id == first.id + 1
    # datetimes (given in another zone, read in UTC), JSON, Japanese text: as SQLAlchemy's
    assert tuple(second)[1:] == tuple(first)[1:]
    assert second.created_at == AT
    assert second.created_at.utcoffset() is not None
    assert second.data == {"nested": {"a": [1, 2.5, None]}, "flag": True}
    assert second.actions == [{"id": "close", "label": "Close"}]
    assert "日本語" in second.body
    assert [tuple(row) for row in read_again[:1]] == [tuple(row) for row in read_once]
    assert read_again[1]._mapping == dict(read_once[0]._mapping) | {"id": second.id}


async def test_values_read_go_through_their_types_conversion(database: Database) -> None:
    seen = SentBySqlAlchemy(database)
    try:
        async with database.begin() as conn:
            writes = _writes(conn, database)
            await writes.execute(_ADD, _message(1, body="hello, 日本語"))
            read = [(await writes.execute(_SHOUTED)).scalar() for _ in range(2)]
    finally:
        seen.close()
    assert read == ["HELLO, 日本語", "HELLO, 日本語"]
    assert len(seen.statements) == 2  # the second read was the direct path's


async def test_a_repeated_update_counts_its_rows(database: Database) -> None:
    async with database.begin() as conn:
        writes = _writes(conn, database)
        ids = [(await writes.execute(_ADD, _message(n))).scalar_one() for n in range(3)]
        changes = {"status": "sent"}
        await writes.execute(_ATTEMPTED, changes | {"b_id": ids[0]})
        direct = await writes.execute(_ATTEMPTED, changes | {"b_id": ids[1]})
        missing = await writes.execute(_ATTEMPTED, changes | {"b_id": 999_999})
        for _ in range(2):  # several rows at once: asyncpg's executemany
            await writes.execute(_ATTEMPTED, [changes | {"b_id": i} for i in ids])
        rows = (await conn.execute(select(ob.status, ob.attempts).order_by(ob.id))).all()
    assert (direct.rowcount, missing.rowcount) == (1, 0)
    assert [tuple(row) for row in rows] == [("sent", 3), ("sent", 3), ("sent", 2)]


async def test_a_direct_statement_is_part_of_sqlalchemys_transaction(
    database: Database,
) -> None:
    await _two_messages(database)  # the insert's plan made
    async with database.begin() as conn:
        writes = _writes(conn, database)
        await writes.execute(_ADD, _message(5))  # the transaction's first statement
        assert conn.in_transaction()
        assert (await writes.execute(_COUNT)).scalar_one() == 3
        await conn.rollback()
        assert (await writes.execute(_COUNT)).scalar_one() == 2  # undone: a new transaction
        await writes.execute(_ADD, _message(6))
    async with database.begin() as conn:  # committed with it
        assert (await conn.execute(_COUNT)).scalar_one() == 3


async def _events(database: Database, *event_ids: str) -> None:
    row = {"platform": "slack", "received_at": AT, "payload": {"text": "hi"}, "error": ""}
    async with database.begin() as conn:
        writes = _writes(conn, database)
        for event_id in event_ids:
            await writes.execute(_ADD_INBOUND, row | {"event_id": event_id})


async def test_a_broken_constraint_is_sqlalchemys_error_and_keeps_nothing(
    database: Database,
) -> None:
    with pytest.raises(IntegrityError) as raised:
        await _events(database, "Ev1", "Ev2", "Ev3", "Ev1")  # the last on the direct path
    assert not is_outage(raised.value)
    assert "inbound_events" in str(raised.value)
    async with database.begin() as conn:
        kept = (await conn.execute(select(func.count()).select_from(t.inbound_events))).scalar()
    assert kept == 0


async def _cut_off(database: Database) -> None:
    """A repeated insert on a connection that the server closed meanwhile."""
    async with database.begin() as conn:
        writes = _writes(conn, database)
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with database.begin() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await writes.execute(_ADD, _message(7))


async def test_a_connection_lost_mid_transaction_is_an_outage_and_the_next_unit_works(
    database: Database,
) -> None:
    await _two_messages(database)  # the insert's plan made
    with pytest.raises(DBAPIError) as raised:  # as SQLAlchemy names what asyncpg says
        await _cut_off(database)
    assert is_outage(raised.value), repr(raised.value)
    async with database.begin() as conn:  # the pool hands out a working connection
        await _writes(conn, database).execute(_ADD, _message(8))
    async with database.begin() as conn:
        assert (await conn.execute(_COUNT)).scalar_one() == 3


async def test_what_the_direct_path_cannot_do_is_sqlalchemys(database: Database) -> None:
    plain = insert(t.outbox)  # SQLAlchemy returns the new key itself
    sent = SentToPostgresql(database)
    try:
        async with database.begin() as conn:
            writes = _writes(conn, database)
            keys = [
                (await writes.execute(plain, _message(n))).inserted_primary_key for n in range(3)
            ]
            for n in range(2):  # the second on the direct path
                await writes.execute(_ADD, _message(n))
            naive = _message(1, created_at=datetime(2026, 12, 7))  # noqa: DTZ001
            with pytest.raises(StatementError, match="timezone"):  # SQLAlchemy's own message
                await writes.execute(_ADD, naive)
        await sent.settled()
    finally:
        sent.close()
    assert [key[0] for key in keys] == [keys[0][0], keys[0][0] + 1, keys[0][0] + 2]
    assert len(sent.statements) == 4
    assert len(sent.direct) == 1


async def test_a_statement_too_long_for_asyncpgs_cache_stays_with_sqlalchemy(
    database: Database,
) -> None:
    # asyncpg would prepare it anew each time (a round trip); SQLAlchemy keeps it prepared
    wide = select(*(bindparam(f"p{i}", i, type_=Integer).label(f"c{i}") for i in range(700)))
    assert len(str(wide.compile(dialect=database.sync_engine.dialect))) > 15 * 1024
    seen = SentBySqlAlchemy(database)
    try:
        async with database.begin() as conn:
            writes = _writes(conn, database)
            rows = [(await writes.execute(wide)).first() for _ in range(3)]
    finally:
        seen.close()
    assert len(seen.statements) == 3
    assert all(row is not None and row.c699 == 699 for row in rows)
