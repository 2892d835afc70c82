"""Processes sharing a PostgreSQL database take a route's turns from one ledger: together
they get the route's burst and then its rate, and a Retry-After one of them heard holds
them all. The ledger's seconds are the database's, so the figures are compared loosely."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from storage.engine import Database
from storage.migrate import upgrade
from storage.rates import DatabaseRates, shared_rates
from tests.support.pg import required_database

STAFF = "slack:post:CSTAFF"
SLACK = 0.25  # seconds: the statements themselves take real time


@pytest.fixture
async def processes() -> AsyncIterator[tuple[DatabaseRates, DatabaseRates]]:
    async with required_database("rates") as url:
        database = Database(url)
        await upgrade(database)
        # each process has a ledger of its own (its own connection), as `supportbot run` makes it
        first, second = shared_rates(database), shared_rates(database)
        assert first is not None
        assert second is not None
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()
            await database.dispose()


async def test_two_processes_share_a_routes_burst_and_then_its_rate(
    processes: tuple[DatabaseRates, DatabaseRates],
) -> None:
    first, second = processes
    waits = [
        await (first if turn % 2 == 0 else second).reserve(STAFF, per_second=1.0, burst=4)
        for turn in range(8)
    ]
    # four at once between them, then one a second: not four each
    assert waits[:4] == [0.0] * 4
    for turn, wait in enumerate(waits[4:], start=1):
        assert turn - SLACK <= wait <= turn
    # another route is another bucket
    assert await second.reserve("slack:post:CHELP", per_second=1.0, burst=4) == 0.0


async def test_a_retry_after_one_process_heard_holds_the_other(
    processes: tuple[DatabaseRates, DatabaseRates],
) -> None:
    first, second = processes
    await first.hold(STAFF, 30.0, burst=4, per_second=1.0)
    wait = await second.reserve(STAFF, per_second=1.0, burst=4)
    assert 30.0 - SLACK <= wait <= 30.0
    # and the turns after it keep to the rate from then on
    assert 31.0 - SLACK <= await first.reserve(STAFF, per_second=1.0, burst=4) <= 31.0


async def test_sqlite_has_one_process_and_no_ledger(database: Database) -> None:
    expected = DatabaseRates if database.dialect_name == "postgresql" else type(None)
    assert isinstance(shared_rates(database), expected)


async def test_a_ledger_that_cannot_answer_in_time_gives_up_and_answers_again_later(
    processes: tuple[DatabaseRates, DatabaseRates],
) -> None:
    first, _ = processes
    first.patience = 0.2  # seconds; the pacer then paces alone for a while
    await first.reserve(STAFF, per_second=1.0, burst=4)
    # another process, stuck while it holds the route's row
    holder = Database(first.database.url.render_as_string(hide_password=False))
    try:
        async with holder.begin() as conn:
            await conn.execute(
                text("SELECT full_at FROM rate_turns WHERE route = :route FOR UPDATE"),
                {"route": STAFF},
            )
            with pytest.raises(TimeoutError):
                await first.reserve(STAFF, per_second=1.0, burst=4)
    finally:
        await holder.dispose()
    assert await first.reserve(STAFF, per_second=1.0, burst=4) == 0.0
