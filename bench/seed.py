"""Seed a desk of N tickets inside the database itself (a recursive CTE on SQLite,
generate_series on PostgreSQL), so a million rows take seconds, not a Python loop.

Tickets are spread over the past (one every 63 seconds: a million reach back about two
years); nearly all are closed, as on a desk that has been running a while. The last 30 days
carry the events a digest reads, and `reminders` pending follow-ups lie ahead."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text

from bot.desk.digest import figures
from bot.settings import DeskSettings
from storage.engine import Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork

NOW = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
SPACING = 63  # seconds between tickets
EVENT_DAYS = 30

_SQLITE = {
    "time": "(strftime('%Y-%m-%d %H:%M:%S', '2026-03-04 00:00:00', "
    "printf('%+d seconds', -({secs}))) || '.000000')",
    "series": "(WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
    "WHERE n < {count}) SELECT n FROM seq)",
    "true": "1",
    "json": "",
}
_POSTGRES = {
    "time": "(timestamptz '2026-03-04 00:00:00+00' - ({secs}) * interval '1 second')",
    "series": "(SELECT n FROM generate_series(1, {count}) AS g(n))",
    "true": "true",
    "json": "::json",
}


def _tickets(d: dict[str, str], count: int) -> str:
    def at(secs: str) -> str:
        return d["time"].format(secs=secs)

    created = at(f"s.n * {SPACING}")
    return f"""
        INSERT INTO tickets (id, number, subject, customer_id, customer_name, locale,
            source_platform, source_workspace, source_channel, source_thread, source_is_dm,
            priority, status, assignee_ref, assignee_name, team, escalation_level,
            first_response_at, closed_at, resolution, created_at, updated_at,
            staff_channel, staff_thread, card_message_id, version, sla_breached_at)
        SELECT s.n, s.n, 'Problem ' || s.n, 1, 'Cust', 'en',
            CASE WHEN s.n % 3 = 0 THEN 'discord' ELSE 'slack' END, 'W', 'D' || s.n, '',
            {d["true"]},
            CASE s.n % 4 WHEN 0 THEN 'urgent' WHEN 1 THEN 'high' WHEN 2 THEN 'normal'
                ELSE 'low' END,
            CASE WHEN s.n % 40 = 0 THEN 'open' WHEN s.n % 40 = 1 THEN 'claimed'
                WHEN s.n % 40 = 2 THEN 'waiting' WHEN s.n % 40 = 3 THEN 'escalated'
                ELSE 'closed' END,
            CASE WHEN s.n % 40 = 0 THEN NULL ELSE 'slack:A' || (s.n % 12) END,
            CASE WHEN s.n % 40 = 0 THEN NULL ELSE 'Agent ' || (s.n % 12) END,
            '', 0,
            CASE WHEN s.n % 10 = 9 THEN NULL ELSE {at(f"s.n * {SPACING} - 1200")} END,
            CASE WHEN s.n % 40 >= 4 THEN {at(f"s.n * {SPACING} - 10800")} ELSE NULL END,
            '', {created}, {created}, 'C', 'T' || s.n, 'M' || s.n, 1,
            CASE WHEN s.n % 20 = 7 THEN {at(f"s.n * {SPACING} - 14400")} ELSE NULL END
        FROM {d["series"].format(count=count)} AS s
    """


def _events(d: dict[str, str], count: int) -> str:
    """Claimed, first response, closed and rated, for the tickets of the last 30 days."""
    at = d["time"].format(secs=f"s.n * {SPACING} - 600 * k.k")
    return f"""
        INSERT INTO ticket_events (ticket_id, kind, actor_ref, actor_name, at, data)
        SELECT s.n,
            CASE k.k WHEN 1 THEN 'claimed' WHEN 2 THEN 'first_response' WHEN 3 THEN 'closed'
                ELSE 'rated' END,
            'slack:A' || (s.n % 12), 'Agent ' || (s.n % 12), {at},
            (CASE k.k WHEN 2 THEN '{{"seconds": 1200}}'
                WHEN 3 THEN '{{"resolution_seconds": 10800}}'
                WHEN 4 THEN '{{"score": ' || (1 + s.n % 5) || '}}' ELSE '{{}}' END){d["json"]}
        FROM {d["series"].format(count=count)} AS s
        CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) AS k
    """


def _reminders(d: dict[str, str], count: int) -> str:
    """Pending follow-ups, the first due an hour from now, then one every 30 seconds."""
    due = d["time"].format(secs="-(s.n * 30 + 3600)")
    now = d["time"].format(secs="0")
    return f"""
        INSERT INTO reminders (ticket_id, kind, due_at, status, note,
            created_by_ref, created_by_name, created_at, last_error)
        SELECT s.n, 'followup', {due}, 'pending', '', 'slack:A1', 'Agent 1', {now}, ''
        FROM {d["series"].format(count=count)} AS s
    """


async def seed(database: Database, tickets: int, reminders: int = 0) -> None:
    d = _SQLITE if database.dialect_name == "sqlite" else _POSTGRES
    async with database.begin() as conn:
        await conn.execute(
            text("INSERT INTO customers (id, display_name, locale) VALUES (1, 'Cust', 'en')")
        )
        await conn.execute(text(_tickets(d, tickets)))
        await conn.execute(text(_events(d, min(tickets, EVENT_DAYS * 86400 // SPACING))))
        if reminders:
            await conn.execute(text(_reminders(d, min(tickets, reminders))))
        if d is _POSTGRES:
            await conn.execute(text("SELECT setval('tickets_id_seq', :n)"), {"n": tickets})
    async with database.begin() as conn:
        await conn.execute(text("ANALYZE"))


async def seeded_desk(database: Database, tickets: int, reminders: int) -> float:
    """Migrate and seed; returns the seconds it took."""
    started = time.perf_counter()
    await upgrade(database)
    await seed(database, tickets, reminders)
    return time.perf_counter() - started


async def yesterdays_digest(database: Database, tickets: int) -> None:
    """The digest a lead reads in the morning, checked to have read the seeded desk."""
    async with SqlUnitOfWork(database) as uow:
        found = await figures(uow, DeskSettings(), NOW)  # as the desk counts it
    assert found.new > 1000
    assert found.backlog_total > tickets * 9 // 100  # a tenth is open
