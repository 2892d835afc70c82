"""The digest over 1,000,000 seeded tickets, on SQLite and on PostgreSQL, against a bare
indexed COUNT over the same table in the same run; and the tick's due-scan among 100,000
pending reminders. Targets: the digest at most 1 s on each; the due-scan at most 50 ms."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import text

from bench.pg import on_both_backends
from bench.seed import NOW, seeded_desk, yesterdays_digest
from storage.engine import Database
from storage.uow import SqlUnitOfWork

TICKETS = 1_000_000
REMINDERS = 100_000
TARGET_DIGEST = 1.0
TARGET_SCAN = 0.050
BENCH_DB = "supportbot_bench"


async def _best(run: Callable[[], Awaitable[object]], rounds: int) -> tuple[float, float]:
    """Best and median wall time of `rounds` runs (after one warm-up)."""
    await run()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


async def measure(database: Database, label: str) -> bool:
    seeded = await seeded_desk(database, TICKETS, REMINDERS)

    async def digest() -> None:
        await yesterdays_digest(database, TICKETS)

    async def bare_count() -> None:
        async with database.begin() as conn:
            await conn.execute(text("SELECT count(*) FROM tickets"))

    async def due_scan() -> None:
        async with SqlUnitOfWork(database) as uow:  # what every tick does first
            await uow.reminders.claim_due(NOW + timedelta(minutes=30), 50)

    best, median = await _best(digest, 5)
    floor, _ = await _best(bare_count, 5)
    scan, scan_median = await _best(due_scan, 20)
    ok = best <= TARGET_DIGEST and scan <= TARGET_SCAN
    print(
        f"digest ({label}, {TICKETS:,} tickets, seeded in {seeded:.0f}s): "
        f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms; bare COUNT(*) "
        f"{floor * 1000:.0f} ms; ratio {best / floor:.2f}  "
        f"[target <= {TARGET_DIGEST * 1000:.0f} ms: {'met' if best <= TARGET_DIGEST else 'MISSED'}]"
    )
    print(
        f"due-scan ({label}, {REMINDERS:,} pending reminders): best {scan * 1000:.2f} ms, "
        f"median {scan_median * 1000:.2f} ms  "
        f"[target <= {TARGET_SCAN * 1000:.0f} ms: {'met' if scan <= TARGET_SCAN else 'MISSED'}]"
    )
    return ok


async def main() -> bool:
    return await on_both_backends("digest", BENCH_DB, measure)


if __name__ == "__main__":
    asyncio.run(main())
