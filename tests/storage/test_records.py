"""Export and erasure on a seeded desk, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Table, insert, select, update

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.model import Attachment, Person, Source
from bot.rendering import Renderer
from bot.reports import digest_figures
from storage import tables as t
from storage.engine import Database
from storage.erasure import ERASED_NAME, ERASED_SUBJECT, GIVEN_UP, erase, preview
from storage.export import CSV_COLUMNS, export
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ZELDA = Person("test", "U0ZELDA", "Zelda Quinn")
OTHER = Person("test", "U0OTTO", "Otto Brandt")
# what must leave the database with Zelda: her name, her user id, what she wrote, where
# she lives (her time zone)
ZELDA_TRACES = ("zelda", "quinn", "u0zelda", "purple elephant", "8812", "chatham")


def _staff(name: str, number: int | None = None, event_id: str = "") -> c.Caller:
    agent = Person("test", f"S-{name}", name)
    return c.Caller(agent, is_staff=True, in_ticket=number, event_id=event_id)


async def _says(desk: Desk, who: Person, text: str, event_id: str, **extra: Any) -> int:
    source = Source("test", "W", f"D-{who.user_id}")
    reply = await desk.handle(
        c.RelayCustomerMessage(who, source, text, **extra),
        c.Caller(who, event_id=event_id, seen=(source.channel, event_id)),
    )
    assert reply.ticket_number is not None
    return reply.ticket_number


async def seed_desk(database: Database) -> FrozenClock:
    """Two customers a day apart, each with a ticket worked to its close (Zelda's with a
    note, an attachment, a rating and a follow-up); Zelda also has a lifted block, an extra
    transcript, and the leads' digest names her ticket by its subject."""
    clock = FrozenClock(START)
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer(), clock=clock)
    zelda = await _says(
        desk, ZELDA, "My purple elephant invoice 8812 is wrong", "E1", timezone="Pacific/Chatham"
    )
    clock.advance(timedelta(minutes=4))
    assert (await desk.handle_text(f"/ticket claim #{zelda}", _staff("bob", event_id="S1"))).ok
    await desk.handle(
        c.RelayAgentMessage(zelda, "Hi Zelda, checking it"), _staff("bob", zelda, "S2")
    )
    await desk.handle(
        c.RelayAgentMessage(zelda, "// Quinn called about it too"), _staff("bob", zelda)
    )
    clock.advance(timedelta(minutes=3))
    bill = Attachment("8812.pdf", "https://files.example/8812.pdf")
    await _says(desk, ZELDA, 'Line one\nsaid "purple elephant", twice', "E2", attachments=(bill,))
    await desk.handle_text(f"/ticket close #{zelda} refunded Zelda", _staff("bob", zelda, "S3"))
    await desk.handle(c.RateTicket(zelda, 4), c.Caller(ZELDA, event_id="E3"))
    await desk.handle_text(f"/ticket followup #{zelda} in 2d call Zelda back", _staff("bob", zelda))
    clock.advance(timedelta(days=1))
    other = await _says(desk, OTHER, "Otto here: my parcel never came", "E4")
    clock.advance(timedelta(minutes=10))
    await desk.handle_text(f"/ticket claim #{other}", _staff("amy"))
    await desk.handle(c.RelayAgentMessage(other, "Hi Otto, on it"), _staff("amy", other))
    await desk.handle_text(f"/ticket close #{other} resent", _staff("amy", other))
    async with database.begin() as conn:
        rows = await conn.execute(select(t.tickets.c.number, t.tickets.c.id))
        ids = {row.number: row.id for row in rows}
        zelda_customer = (
            await conn.execute(select(t.tickets.c.customer_id).where(t.tickets.c.number == zelda))
        ).scalar_one()
        await conn.execute(
            insert(t.transcripts),
            {"ticket_id": ids[zelda], "made_at": clock.now(), "document": {"lines": [
                {"who": "Zelda Quinn", "text": "My purple elephant invoice 8812 is wrong"}]}},
        )  # fmt: skip
        await conn.execute(
            insert(t.customer_blocks),
            {"customer_id": zelda_customer, "by_ref": "test:S-bob", "by_name": "bob",
             "reason": "Zelda Quinn wrote 40 times", "blocked_at": clock.now(),
             "lifted_at": clock.now(), "lifted_by_name": "bob"},
        )  # fmt: skip
        await conn.execute(  # the leads' digest names the oldest tickets by subject
            insert(t.outbox),
            {"conversation": "test:leads:desk", "platform": "test", "audience": "leads",
             "kind": "digest", "body": f"Oldest: #{zelda} My purple elephant invoice 8812 is "
             f"wrong; #{other} Otto here: my parcel never came", "author_name": "",
             "channel": "", "thread": "", "actions": [], "mentions": [], "data": {},
             "status": "sent", "attempts": 1, "next_attempt_at": clock.now(),
             "created_at": clock.now(), "platform_message_id": "", "last_error": ""},
        )  # fmt: skip
    return clock


async def _export(database: Database, format: str = "jsonl", **options: Any) -> str:
    sink = io.StringIO()
    await export(database, sink, format, **options)
    return sink.getvalue()


def _as_exported(table: Table, row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as the export writes it: times ISO 8601 UTC, JSON as documents."""
    out = {}
    for column in table.c:
        if column.name in skip:
            continue
        value = getattr(row, column.name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
            value += "Z"
        out[column.name] = value
    return out


async def _read_back(database: Database) -> list[dict[str, Any]]:
    """Every ticket with its messages and events, read through SQLAlchemy's own types."""
    async with database.begin() as conn:
        tickets = (await conn.execute(select(t.tickets).order_by(t.tickets.c.id))).all()
        messages = (
            await conn.execute(select(t.ticket_messages).order_by(t.ticket_messages.c.id))
        ).all()
        events = (await conn.execute(select(t.ticket_events).order_by(t.ticket_events.c.id))).all()

    def of(ticket: Any, table: Table, rows: Any) -> list[dict[str, Any]]:
        return [_as_exported(table, r, ("ticket_id",)) for r in rows if r.ticket_id == ticket.id]

    return [
        _as_exported(t.tickets, ticket)
        | {"messages": of(ticket, t.ticket_messages, messages)}
        | {"events": of(ticket, t.ticket_events, events)}
        for ticket in tickets
    ]


async def test_json_lines_hold_every_ticket_with_its_messages_and_events(
    database: Database,
) -> None:
    await seed_desk(database)
    written = await _export(database, batch=1)  # a batch per ticket: the merge is exercised
    lines = written.splitlines()
    assert len(lines) == 2
    exported = [json.loads(line) for line in lines]
    assert exported == await _read_back(database)
    zelda = exported[0]
    assert [m["direction"] for m in zelda["messages"]] == ["inbound", "outbound", "note", "inbound"]
    assert zelda["messages"][3]["body"] == 'Line one\nsaid "purple elephant", twice'
    assert zelda["messages"][3]["attachments"] == [
        {"name": "8812.pdf", "url": "https://files.example/8812.pdf"}
    ]
    assert {"opened", "claimed", "first_response", "closed", "rated"} <= {
        e["kind"] for e in zelda["events"]
    }
    assert zelda["created_at"] == "2026-05-04T08:00:00.000000Z"
    assert zelda["source_is_dm"] is True
    assert await _export(database, batch=500) == written  # the batch size changes nothing


async def test_csv_has_a_row_per_ticket_message_and_event(database: Database) -> None:
    await seed_desk(database)
    expected = await _read_back(database)
    rows = list(csv.DictReader(io.StringIO(await _export(database, "csv", batch=1))))
    assert tuple(rows[0]) == CSV_COLUMNS
    flags = {c.name for c in t.tickets.c if isinstance(c.type, Boolean)}
    documents = {c.name for c in t.tickets.c if isinstance(c.type, JSON)}
    for ticket in expected:
        mine = [row for row in rows if row["id"] == str(ticket["id"])]
        assert [row["record"] for row in mine] == ["ticket"] + ["message"] * len(
            ticket["messages"]
        ) + ["event"] * len(ticket["events"])
        for row in mine:  # every row carries its ticket's columns
            for name, value in ticket.items():
                if name in ("messages", "events"):
                    continue
                cell = row[name]
                if name in flags:
                    assert cell == str(value).lower()
                elif name in documents:
                    assert json.loads(cell) == value
                else:
                    assert cell == ("" if value is None else str(value))
        for row, message in zip(mine[1:], ticket["messages"], strict=False):
            assert (row["at"], row["kind"], row["by_ref"], row["by_name"], row["body"]) == (
                message["at"], message["direction"], message["author_ref"],
                message["author_name"], message["body"],
            )  # fmt: skip
            assert json.loads(row["attachments"]) == message["attachments"]
        for row, event in zip(mine[1 + len(ticket["messages"]) :], ticket["events"], strict=True):
            assert (row["at"], row["kind"], row["by_ref"], row["by_name"]) == (
                event["at"], event["kind"], event["actor_ref"], event["actor_name"],
            )  # fmt: skip
            assert json.loads(row["data"]) == event["data"]


async def test_since_leaves_out_older_tickets_and_their_records(database: Database) -> None:
    await seed_desk(database)
    tickets = t.tickets.c
    async with database.begin() as conn:  # #2 now older than #1, and #3 the newest
        rows = await conn.execute(select(t.tickets).where(tickets.number == 2))
        newest = dict(rows.all()[0]._mapping)
        later = START + timedelta(days=2)
        newest |= {"id": 3, "number": 3, "created_at": later, "updated_at": later}
        await conn.execute(insert(t.tickets), newest)
        await conn.execute(
            insert(t.ticket_messages),
            {"ticket_id": 3, "direction": "inbound", "author_ref": "test:U0OTTO",
             "author_name": "Otto Brandt", "body": "and again", "attachments": [], "at": later},
        )  # fmt: skip
        old = START - timedelta(days=30)
        await conn.execute(update(t.tickets).where(tickets.number == 2).values(created_at=old))
    everything = [json.loads(line) for line in (await _export(database)).splitlines()]
    assert [e["number"] for e in everything] == [1, 2, 3]
    for batch in (1, 2, 500):  # #2's records are read with #1 and #3's, and left out
        since = await _export(database, since=START, batch=batch)
        assert [json.loads(line) for line in since.splitlines()] == [everything[0], everything[2]]
        since = await _export(database, since=START + timedelta(hours=12), batch=batch)
        assert [json.loads(line) for line in since.splitlines()] == [everything[2]]
    assert await _export(database, since=START + timedelta(days=9)) == ""


async def _everything(database: Database) -> dict[str, list[dict[str, Any]]]:
    async with database.begin() as conn:
        return {
            table.name: [dict(row._mapping) for row in await conn.execute(select(table))]
            for table in t.metadata.sorted_tables
        }


def _traces(everything: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Where anything of Zelda's is still written, as table.column: what was found."""
    found = []
    for table, rows in everything.items():
        for row in rows:
            for column, value in row.items():
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                found += [f"{table}.{column}: {x}" for x in ZELDA_TRACES if x in text.casefold()]
    return found


async def _figures(database: Database) -> Any:
    async with SqlUnitOfWork(database) as uow:
        view = await uow.reports.digest_view(
            START - timedelta(days=1), START + timedelta(days=5), START
        )
    return digest_figures(view)  # fmt: skip


async def test_erasure_leaves_no_trace_of_the_customer_and_every_figure(
    database: Database,
) -> None:
    await seed_desk(database)
    before = await _everything(database)
    assert _traces(before)  # the search finds what it looks for
    exported = (await _export(database)).splitlines()
    figures = await _figures(database)
    scope = await preview(database, "test", "U0ZELDA")
    assert scope is not None
    assert (len(scope.tickets), scope.messages) == (1, 2)

    at = START + timedelta(days=3)
    erased = await erase(database, "test", "U0ZELDA", "cli:ops", at)

    assert erased is not None
    after = await _everything(database)
    assert _traces(after) == []
    assert await _figures(database) == figures
    tickets = {row["number"]: row for row in after["tickets"]}
    old = {row["number"]: row for row in before["tickets"]}
    assert (tickets[1]["customer_name"], tickets[1]["subject"]) == (ERASED_NAME, ERASED_SUBJECT)
    for field in ("status", "created_at", "first_response_at", "closed_at", "priority"):
        assert tickets[1][field] == old[1][field]
    zelda_after = json.loads((await _export(database)).splitlines()[0])
    zelda_before = json.loads(exported[0])
    assert [m["at"] for m in zelda_after["messages"]] == [m["at"] for m in zelda_before["messages"]]
    rated = [e["data"] for e in zelda_after["events"] if e["kind"] == "rated"]
    assert rated == [{"score": 4}]
    assert [e["kind"] for e in zelda_after["events"]] == [e["kind"] for e in zelda_before["events"]]
    assert (await _export(database)).splitlines()[1] == exported[1]  # Otto's, untouched
    assert after["customer_identities"] == [
        r for r in before["customer_identities"] if r["user_id"] == "U0OTTO"
    ]
    assert after["transcripts"] == [
        r for r in before["transcripts"] if r["ticket_id"] != old[1]["id"]
    ]
    assert after["erasures"] == [
        {"id": 1, "at": at, "by": "cli:ops", "customer_id": scope.customer_id, "tickets": 1,
         "messages": 2}
    ]  # fmt: skip
    theirs = [r for r in after["outbox"] if r["ticket_id"] == old[1]["id"]]
    assert theirs
    assert {(r["status"], r["last_error"], r["body"]) for r in theirs} == {("failed", GIVEN_UP, "")}
    assert all(r["status"] == "pending" for r in after["outbox"] if r["ticket_id"] == old[2]["id"])
    [digest] = [r["body"] for r in after["outbox"] if r["kind"] == "digest"]
    assert digest == f"Oldest: #1 {ERASED_SUBJECT}; #2 Otto here: my parcel never came"
    followups = [r for r in after["reminders"] if r["kind"] == "followup"]
    assert {(r["ticket_id"], r["status"]) for r in followups} == {
        (old[1]["id"], "cancelled"), (old[2]["id"], "pending"),
    }  # fmt: skip
    payloads = {r["event_id"]: r["payload"] for r in after["inbound_events"]}
    assert payloads["E1"] == payloads["E2"] == payloads["E3"] == {"erased": True}
    assert payloads["E4"] == {r["event_id"]: r["payload"] for r in before["inbound_events"]}["E4"]
    assert payloads["S2"]["fields"]["text"] == "Hi erased customer, checking it"  # bob's reply


async def test_a_second_erasure_and_an_unknown_customer_change_nothing(database: Database) -> None:
    clock = await seed_desk(database)
    assert await erase(database, "test", "U0ZELDA", "cli:ops", clock.now()) is not None
    once = await _everything(database)
    assert await preview(database, "test", "U0ZELDA") is None
    assert await erase(database, "test", "U0ZELDA", "cli:ops", clock.now()) is None
    assert await erase(database, "test", "U0NOBODY", "cli:ops", clock.now()) is None
    assert await _everything(database) == once
    assert len(once["erasures"]) == 1


async def test_the_same_person_writing_again_is_a_new_customer(database: Database) -> None:
    clock = await seed_desk(database)
    await erase(database, "test", "U0ZELDA", "cli:ops", clock.now())
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer(), clock=clock)
    number = await _says(desk, ZELDA, "Hello again", "E9")
    tickets = t.tickets.c
    async with database.begin() as conn:
        rows = await conn.execute(
            select(tickets.number, tickets.customer_id, tickets.customer_name, tickets.subject)
        )
        found = {row.number: row for row in rows}
    assert number == 3  # not joined to the anonymised ticket
    assert (found[3].customer_name, found[3].subject) == ("Zelda Quinn", "Hello again")
    assert found[3].customer_id not in (found[1].customer_id, found[2].customer_id)
    assert found[1].customer_name == ERASED_NAME


async def test_csv_cells_a_spreadsheet_would_run_stay_text(database: Database) -> None:
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer(), clock=FrozenClock(START))
    trick = Person("test", "U-trick", "=cmd|'/c calc'!A1")
    await _says(desk, trick, '=HYPERLINK("http://x.example","click")', "T1")
    rows = list(csv.DictReader(io.StringIO(await _export(database, "csv"))))
    [message] = [row for row in rows if row["record"] == "message"]
    assert message["body"] == '\'=HYPERLINK("http://x.example","click")'
    assert message["customer_name"] == "'=cmd|'/c calc'!A1"
    jsonl = await _export(database)
    assert '"body":"=HYPERLINK' in jsonl  # JSON keeps what was written


def test_erasure_finds_a_japanese_name_written_without_spaces() -> None:
    from storage.erasure import Scope, Words

    words = Words(Scope(1, "山田 太郎", (("slack", "U1ABC"),), (), 0))
    assert words.text("山田様、確認します") == "erased customer様、確認します"
    assert words.text("山田太郎様から") == "erased customer様から"
    latin = Words(Scope(2, "Zelda Fitz", (), (), 0))
    assert latin.text("Hi Zelda, and Zelda様 too") == (
        "Hi erased customer, and erased customer様 too"
    )
    assert latin.text("Fitzgerald") == "Fitzgerald"  # a longer word is another word
