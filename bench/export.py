"""`supportbot export` of 1,000,000 seeded tickets, each with three messages and its events,
run as an operator runs it (a child process writing JSON lines to /dev/null, every record
encoded), against a floor measured in the same run: the driver alone reading the same rows
(sqlite3 or asyncpg, no encoding). Targets on SQLite: at least 20,000 tickets/s, at most
200 MB peak resident memory; PostgreSQL is measured and reported."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy import text

from bench.pg import fresh_postgres
from bench.seed import _POSTGRES, _SQLITE, SPACING, seeded_desk
from storage.engine import Database

TICKETS = 1_000_000
TARGET_RATE = 20_000  # tickets/s
TARGET_RSS_MB = 200.0
BENCH_DB = "supportbot_bench_export"
SUPPORTBOT = str(Path(sys.executable).with_name("supportbot"))


def _conversations(d: dict[str, str], count: int) -> str:
    """Three messages a ticket: the customer's question, the agent's answer, the thanks."""
    at = d["time"].format(secs=f"s.n * {SPACING} - 600 * k.k")
    return f"""
        INSERT INTO ticket_messages (ticket_id, direction, author_ref, author_name, body,
            attachments, at)
        SELECT s.n,
            CASE k.k WHEN 2 THEN 'outbound' ELSE 'inbound' END,
            CASE k.k WHEN 2 THEN 'slack:A' || (s.n % 12) ELSE 'slack:C1' END,
            CASE k.k WHEN 2 THEN 'Agent ' || (s.n % 12) ELSE 'Cust' END,
            CASE k.k
                WHEN 1 THEN 'Hello, I have a problem with order ' || s.n
                    || ': the invoice shows the wrong plan and I was charged twice.'
                WHEN 2 THEN 'Thanks for writing. I have corrected the plan on order ' || s.n
                    || ' and refunded the second charge; it shows within five days.'
                ELSE 'Great, thank you!' END,
            '[]'{d["json"]}, {at}
        FROM {d["series"].format(count=count)} AS s
        CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    """


def _openings(d: dict[str, str], count: int) -> str:
    """The `opened` event every ticket has (the seed writes the last 30 days' others)."""
    at = d["time"].format(secs=f"s.n * {SPACING}")
    return f"""
        INSERT INTO ticket_events (ticket_id, kind, actor_ref, actor_name, at, data)
        SELECT s.n, 'opened', 'slack:C1', 'Cust', {at},
            ('{{"priority": "normal", "keyword": ""}}'){d["json"]}
        FROM {d["series"].format(count=count)} AS s
    """


async def seed_export_desk(database: Database) -> float:
    """The digest's seeded desk, with conversations; returns the seconds it took."""
    started = time.perf_counter()
    await seeded_desk(database, TICKETS, 0)
    d = _SQLITE if database.dialect_name == "sqlite" else _POSTGRES
    async with database.begin() as conn:
        await conn.execute(text(_conversations(d, TICKETS)))
        await conn.execute(text(_openings(d, TICKETS)))
    async with database.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


_FLOOR_QUERIES = (
    "SELECT * FROM tickets ORDER BY id",
    "SELECT * FROM ticket_messages ORDER BY ticket_id, id",
    "SELECT * FROM ticket_events ORDER BY ticket_id, id",
)


def _sqlite_floor(path: str) -> float:
    """Seconds for sqlite3 alone to read every row the export reads, in the same order."""
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        for query in _FLOOR_QUERIES:
            cursor = conn.execute(query)
            while cursor.fetchmany(5000):
                pass
        return time.perf_counter() - started
    finally:
        conn.close()


async def _postgres_floor(url: str) -> float:
    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        started = time.perf_counter()
        async with conn.transaction():
            for query in _FLOOR_QUERIES:
                async for _ in conn.cursor(query, prefetch=5000):
                    pass
        return time.perf_counter() - started
    finally:
        await conn.close()


def run_export(url: str, *args: str) -> tuple[float, float, int]:
    """Seconds, peak resident MB and tickets of one `supportbot export` to /dev/null."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env |= {"DATABASE_URL": url, "SUPPORTBOT_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [SUPPORTBOT, "export", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stderr is not None
    said = proc.stderr.read()
    # wait4: this child's own peak, not the largest of every child so far
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"supportbot export failed ({proc.returncode}): {said.strip()}")
    found = re.search(r"exported ([\d,]+) ticket", said)
    tickets = int(found.group(1).replace(",", "")) if found else 0
    return seconds, usage.ru_maxrss / 1024, tickets  # ru_maxrss: KiB on Linux


async def measure(url: str, floor: float, label: str, format: str = "jsonl") -> bool:
    seconds, rss, tickets = await asyncio.to_thread(run_export, url, "--format", format)
    rate = tickets / seconds
    ok = tickets == TICKETS and rate >= TARGET_RATE and rss <= TARGET_RSS_MB
    verdict = "met" if ok else "MISSED"
    targeted = label == "sqlite" and format == "jsonl"
    target = f"  [target >= {TARGET_RATE:,}/s, <= 200 MB: {verdict}]" if targeted else ""
    print(
        f"export ({label}, {tickets:,} tickets, {format}): {seconds:.1f}s, {rate:,.0f} tickets/s, "
        f"peak RSS {rss:.0f} MB; the driver alone reading the rows {floor:.1f}s "
        f"({TICKETS / floor:,.0f} tickets/s); ratio {seconds / floor:.1f}{target}"
    )
    return ok or not targeted


async def main() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "export.db")
        url = f"sqlite:///{path}"
        database = Database(url)
        try:
            seeded = await seed_export_desk(database)
        finally:
            await database.dispose()
        print(f"export (sqlite): seeded {TICKETS:,} tickets in {seeded:.0f}s")
        floor = _sqlite_floor(path)
        ok = await measure(url, floor, "sqlite")
        await measure(url, floor, "sqlite", "csv")  # reported, no target
    postgres = await fresh_postgres(BENCH_DB, "export")
    if postgres is not None:
        try:
            seeded = await seed_export_desk(postgres)
            url = postgres.url.set(drivername="postgresql").render_as_string(False)
            print(f"export (postgresql): seeded {TICKETS:,} tickets in {seeded:.0f}s")
            await measure(url, await _postgres_floor(url), "postgresql")  # reported, no target
        finally:
            await postgres.dispose()
    return ok


if __name__ == "__main__":
    asyncio.run(main())
