"""`supportbot export` and `supportbot erase` through the real command, on SQLite."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import pty
import sqlite3
import subprocess
from pathlib import Path

from bench.seed import seed
from storage.engine import Database
from storage.migrate import upgrade
from tests.e2e.test_cli import SUPPORTBOT, run

SESSION = """\
alice> Hi, I can't log in: the purple elephant page says no
@bob> /ticket claim
@bob> Hi Alice, a reset link is on its way.
alice> Thanks, that worked
@bob> /ticket close reset link sent
carol> My parcel never came
"""


def _desk(tmp_path: Path) -> None:
    result = run(tmp_path, "run", stdin=SESSION)
    assert result.returncode == 0, result.stderr


def _dump(tmp_path: Path) -> str:
    db = sqlite3.connect(tmp_path / "desk.db")
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


def test_export_writes_every_ticket_as_json_lines_or_csv(tmp_path: Path) -> None:
    _desk(tmp_path)
    result = run(tmp_path, "export", "--output", "desk.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "exported 2 tickets"
    lines = (tmp_path / "desk.jsonl").read_text("utf-8").splitlines()
    tickets = [json.loads(line) for line in lines]
    assert [(t["number"], t["customer_name"], t["status"]) for t in tickets] == [
        (1, "alice", "closed"),
        (2, "carol", "open"),
    ]
    assert [m["body"] for m in tickets[0]["messages"]] == [
        "Hi, I can't log in: the purple elephant page says no",
        "Hi Alice, a reset link is on its way.",
        "Thanks, that worked",
    ]
    assert "closed" in [e["kind"] for e in tickets[0]["events"]]

    result = run(tmp_path, "export", "--format", "csv", "--since", "2000-01-01")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["record"] for r in rows if r["number"] == "2"][:2] == ["ticket", "message"]
    assert {r["body"] for r in rows if r["record"] == "message"} >= {"My parcel never came"}


def test_erase_with_yes_anonymises_the_customer_once(tmp_path: Path) -> None:
    _desk(tmp_path)
    result = run(tmp_path, "erase", "--customer", "shell:alice", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Erased customer #1: 1 ticket anonymised, 2 messages emptied, 1 identity removed.\n"
    )
    dump = _dump(tmp_path)
    assert "purple elephant" not in dump
    assert "alice" not in dump.casefold()
    assert "carol" in dump
    db = sqlite3.connect(tmp_path / "desk.db")
    erasures = db.execute("SELECT customer_id, tickets, messages FROM erasures").fetchall()
    db.close()
    assert erasures == [(1, 1, 2)]

    again = run(tmp_path, "erase", "--customer", "shell:alice", "--yes")
    assert again.returncode == 0, again.stderr
    assert "No customer is known as shell:alice" in again.stdout
    assert _dump(tmp_path) == dump


def test_erase_asks_first_and_refuses_without_a_terminal(tmp_path: Path) -> None:
    _desk(tmp_path)
    before = _dump(tmp_path)
    refused = run(tmp_path, "erase", "--customer", "shell:alice")  # stdin is a pipe
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "supportbot: erase asks for confirmation at a terminal; add --yes"
    ]
    bad = run(tmp_path, "erase", "--customer", "alice", "--yes")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "platform:user id" in bad.stderr
    assert _dump(tmp_path) == before


def _at_a_terminal(tmp_path: Path, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`supportbot` with a terminal on its standard input, where `answer` is typed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'desk.db'}"
    terminal, stdin = pty.openpty()
    try:
        proc = subprocess.Popen(
            [SUPPORTBOT, *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env, cwd=tmp_path,
        )  # fmt: skip
        os.write(terminal, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(stdin)
        os.close(terminal)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_erase_at_a_terminal_shows_what_goes_and_waits_for_the_word(tmp_path: Path) -> None:
    _desk(tmp_path)
    before = _dump(tmp_path)
    declined = _at_a_terminal(tmp_path, "yes", "erase", "--customer", "shell:alice")
    assert declined.returncode == 1, declined.stderr
    assert "Customer #1 (shell:alice): 1 ticket, 2 messages of theirs, 1 identity." in (
        declined.stdout
    )
    assert declined.stdout.rstrip().endswith("Nothing erased.")
    assert _dump(tmp_path) == before
    confirmed = _at_a_terminal(tmp_path, "erase", "erase", "--customer", "shell:alice")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Type erase to go on: Erased customer #1: 1 ticket anonymised" in confirmed.stdout
    assert "alice" not in _dump(tmp_path)


async def _seeded(url: str, tickets: int) -> None:
    database = Database(url)
    try:
        await upgrade(database)
        await seed(database, tickets)
    finally:
        await database.dispose()


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    asyncio.run(_seeded(url, 5000))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    proc = subprocess.Popen(
        [SUPPORTBOT, "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env | {"DATABASE_URL": url},
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["number"] == 1  # `| head -1`
    proc.stdout.close()
    _, said = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert b"Traceback" not in said
    assert b"Error" not in said
