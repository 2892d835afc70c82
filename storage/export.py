"""Every ticket with its messages and events, as `supportbot export` writes them.

Tickets are read in batches, each a range of ticket ids, with the messages and events of
the same range in the same order, and merged by ticket id: memory holds a few batches
whatever the size of the desk, and the statements are the same on SQLite and on PostgreSQL
but for the functions named below. Each batch is its own read-only transaction, which on
SQLite (WAL) takes no lock: a bot running beside the export never waits for it.

The database writes the text: times as ISO 8601 UTC (`2026-03-04T09:15:00.000000Z`), and
for JSON lines each row as a JSON object (SQLite's json_object, PostgreSQL's to_json), so
that Python only joins strings: building a value per column and encoding it in Python
managed some 13,000 tickets a second, the database's JSON more than twice that.

Two formats:
- jsonl: one JSON object per line and ticket: the ticket's columns, then `messages` and
  `events`, each in the order they were written.
- csv: one row per record, in ticket order: the ticket's own row (`record` = ticket), then
  a row per message, then a row per event. Every row repeats the ticket's columns, so that
  a spreadsheet filter (all inbound messages of urgent tickets, say) needs no lookup into
  another sheet. The record's own columns follow: `at`; `kind` (a message's direction:
  inbound, outbound or note; an event's kind); `by_ref` and `by_name` (who wrote or did
  it); `body` and `attachments` for a message; `data` for an event. JSON values stay JSON
  text in their cell. One file, not three, because a spreadsheet opens one file.
"""

from __future__ import annotations

import asyncio
import csv
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from itertools import chain, groupby, islice
from operator import itemgetter
from typing import Any, TextIO

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
    type_coerce,
)

from storage import tables as t
from storage.engine import Database

BATCH = 2000  # ticket ids per read transaction
# batches read while the one before is written: one, on a worker thread on SQLite; two or
# three at once measured slower (1,000,000 tickets: 20.6 s with one, 23.6 s with two), the
# threads then waiting for one another's GIL
READ_AHEAD = 1
FORMATS = ("jsonl", "csv")

TICKET_COLUMNS = tuple(c.name for c in t.tickets.c)
# in JSON lines, a message or an event has every column but its ticket's id
MESSAGE_COLUMNS = tuple(c.name for c in t.ticket_messages.c if c.name != "ticket_id")
EVENT_COLUMNS = tuple(c.name for c in t.ticket_events.c if c.name != "ticket_id")
# in CSV, the columns a message row and an event row fill, in CSV_COLUMNS' order
_CSV_MESSAGE = ("at", "direction", "author_ref", "author_name", "body", "attachments")
_CSV_EVENT = ("at", "kind", "actor_ref", "actor_name", "data")
CSV_COLUMNS = (
    "record",
    *TICKET_COLUMNS,
    *("at", "kind", "by_ref", "by_name", "body", "attachments", "data"),
)
_TICKET_ID, _OBJECT = itemgetter(0), itemgetter(1)
_NONE: list[Any] = []
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _as_text(column: ColumnElement[Any], sqlite: bool, in_json: bool) -> ColumnElement[Any]:
    """A column's value as the export writes it."""
    kind = column.type
    if isinstance(kind, t.UTCDateTime):
        if not sqlite:
            return func.to_char(func.timezone("UTC", column), _ISO_UTC, type_=String)
        stored = type_coerce(column, String)  # "YYYY-MM-DD HH:MM:SS.ffffff", in UTC
        return func.substr(stored, 1, 10, type_=String) + "T" + func.substr(stored, 12) + "Z"
    if isinstance(kind, Boolean):
        if in_json and not sqlite:
            return column
        if not in_json:
            return case((column, "true"), else_="false")
        # json() of a constant is worked out once, not once a row
        yes, no = (
            func.json(literal_column(f"'{word}'"), type_=String) for word in ("true", "false")
        )
        return case((column, yes), else_=no)
    if isinstance(kind, JSON):
        if in_json:  # embedded as a document, not as a string
            return func.json(column, type_=String) if sqlite else column
        return type_coerce(column, String) if sqlite else cast(column, Text)
    return column


def _json_rows(table: Table, names: Sequence[str], key: Any, sqlite: bool) -> Select[Any]:
    """(key, the row as a JSON object) for each row of `table`."""
    values = [_as_text(table.c[name], sqlite, in_json=True).label(name) for name in names]
    if sqlite:
        pairs = chain.from_iterable(
            (literal(name), value) for name, value in zip(names, values, strict=True)
        )
        return select(key, func.json_object(*pairs, type_=String))
    # to_json of a row of exactly these columns; json_build_object spaces out its text
    row = select(*values).correlate(table).lateral("exported")
    fields = cast(func.to_json(row.table_valued()), Text)  # text: asyncpg would decode json
    return select(key, fields).select_from(table.join(row, true()))


def _text_rows(table: Table, names: Sequence[str], key: Any, sqlite: bool) -> Select[Any]:
    return select(key, *(_as_text(table.c[name], sqlite, in_json=False) for name in names))


@dataclass(frozen=True)
class _Statements:
    tickets: Select[Any]
    since: Select[Any]
    messages: Select[Any]
    events: Select[Any]


@cache
def _statements(dialect: str, format: str) -> _Statements:
    sqlite = dialect == "sqlite"
    jsonl = format == "jsonl"
    rows = _json_rows if jsonl else _text_rows
    tk, msg, ev = t.tickets.c, t.ticket_messages.c, t.ticket_events.c
    span = bindparam("first", type_=Integer), bindparam("last", type_=Integer)
    tickets = rows(t.tickets, TICKET_COLUMNS, tk.id, sqlite).where(tk.id.between(*span))
    return _Statements(
        tickets.order_by(tk.id),
        tickets.where(tk.created_at >= bindparam("since")).order_by(tk.id),
        rows(t.ticket_messages, MESSAGE_COLUMNS if jsonl else _CSV_MESSAGE, msg.ticket_id, sqlite)
        .where(msg.ticket_id.between(*span))
        .order_by(msg.ticket_id, msg.id),
        rows(t.ticket_events, EVENT_COLUMNS if jsonl else _CSV_EVENT, ev.ticket_id, sqlite)
        .where(ev.ticket_id.between(*span))
        .order_by(ev.ticket_id, ev.id),
    )


@dataclass
class TicketRecord:
    """A ticket as the database wrote it: its row (the ticket id first), its messages' and
    its events' rows (each the ticket id first)."""

    ticket: Sequence[Any]
    messages: list[Sequence[Any]]
    events: list[Sequence[Any]]


def _read_batch(
    statements: _Statements, first: int, last: int, since: datetime | None, conn: Connection
) -> list[TicketRecord]:
    """The tickets with ids first..last (created at or after `since`, when given), with
    their messages and events."""
    tickets = statements.tickets if since is None else statements.since
    params = {"first": first, "last": last, "since": since}
    rows = conn.execute(tickets, params).all()
    if not rows:
        return []
    messages = conn.execute(statements.messages, params).all()
    events = conn.execute(statements.events, params).all()
    # grouped in C (groupby, itemgetter), not by a Python step per row; a row for no ticket
    # of the batch (one created before `since`) is left out
    messages_of = {key: list(group) for key, group in groupby(messages, _TICKET_ID)}
    events_of = {key: list(group) for key, group in groupby(events, _TICKET_ID)}
    return [
        TicketRecord(row, messages_of.get(row[0], _NONE), events_of.get(row[0], _NONE))
        for row in rows
    ]


async def _id_span(database: Database, since: datetime | None) -> tuple[int | None, int | None]:
    """The first and last ticket id to export; (None, None) when there is none."""
    found = select(func.min(t.tickets.c.id), func.max(t.tickets.c.id))
    if since is not None:
        found = found.where(t.tickets.c.created_at >= since)
    async with database.begin() as conn:
        row = (await conn.execute(found)).first()
    assert row is not None  # min() and max() make one row, of NULLs for no ticket
    first, last = tuple(row)
    return first, last


async def ticket_records(
    database: Database, format: str, since: datetime | None = None, batch: int = BATCH
) -> AsyncGenerator[list[TicketRecord]]:
    """Every ticket there is when the export begins (created at or after `since`, when
    given), in id order, a batch at a time. Batches are ranges of ids, each read in its own
    snapshot (`Database.snapshot`), so they need not wait for one another: READ_AHEAD of
    them are read while the caller writes the one before, on as many connections."""
    statements = _statements(database.dialect_name, format)
    first, last = await _id_span(database, since)
    if first is None or last is None:
        return
    starts = iter(range(first, last + 1, batch))

    def read(start: int) -> asyncio.Future[list[TicketRecord]]:
        end = start + batch - 1
        return asyncio.ensure_future(
            database.snapshot(partial(_read_batch, statements, start, end, since))
        )

    ahead = deque(read(start) for start in islice(starts, READ_AHEAD))
    try:
        while ahead:
            records = await ahead.popleft()
            if (start := next(starts, None)) is not None:
                ahead.append(read(start))
            if records:  # a range of ids may hold none to export
                yield records
    finally:
        # never cancelled half way: a statement may be running on a worker's connection
        await asyncio.gather(*ahead, return_exceptions=True)


def write_json_lines(sink: TextIO, batch: list[TicketRecord]) -> None:
    lines = [
        # the ticket's object, its closing brace replaced by its messages and events
        f'{r.ticket[1][:-1]},"messages":[{",".join(map(_OBJECT, r.messages))}],'
        f'"events":[{",".join(map(_OBJECT, r.events))}]}}\n'
        for r in batch
    ]
    sink.write("".join(lines))


_TICKET_ONLY = ("",) * 7


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (customer text may start with `=`),
    kept as text by a leading apostrophe, as spreadsheets themselves do."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(_FORMULA) else cell


def write_csv_rows(writer: Any, batch: list[TicketRecord]) -> None:
    rows: list[Sequence[Any]] = []
    for record in batch:
        ticket = record.ticket[1:]
        rows.append(("ticket", *ticket, *_TICKET_ONLY))
        # each row the ticket id first, then _CSV_MESSAGE or _CSV_EVENT
        rows.extend(("message", *ticket, *m[1:], "") for m in record.messages)
        rows.extend(("event", *ticket, *e[1:5], "", "", e[5]) for e in record.events)
    writer.writerows([_inert(cell) for cell in row] for row in rows)


async def export(
    database: Database,
    sink: TextIO,
    format: str = "jsonl",
    since: datetime | None = None,
    batch: int = BATCH,
) -> int:
    """Write every ticket (created at or after `since`) to `sink`; returns how many."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    writer = csv.writer(sink, lineterminator="\n")
    if format == "csv":
        writer.writerow(CSV_COLUMNS)
    count = 0
    async with aclosing(ticket_records(database, format, since, batch)) as batches:
        async for records in batches:
            if format == "jsonl":
                write_json_lines(sink, records)
            else:
                write_csv_rows(writer, records)
            count += len(records)
    return count
