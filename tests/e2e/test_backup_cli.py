"""`supportbot backup` through the real command: a SQLite desk copied while it is in use."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

from tests.e2e.test_cli import line_starting, run, shell_bot

SESSION = """\
alice> Hi, I can't log in: the purple elephant page says no
@bob> /ticket claim
@bob> Hi Alice, a reset link is on its way.
@bob> /ticket close reset link sent
carol> My parcel never came
"""


def _tickets(path: Path) -> list[tuple[int, str, str]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT number, subject, status FROM tickets ORDER BY number")
        return [(int(n), str(subject), str(status)) for n, subject, status in rows]
    finally:
        db.close()


def _desk(tmp_path: Path) -> None:
    result = run(tmp_path, "run", stdin=SESSION)
    assert result.returncode == 0, result.stderr


def test_a_backup_opens_as_a_desk_with_the_same_tickets(tmp_path: Path) -> None:
    _desk(tmp_path)
    result = run(tmp_path, "backup", "copy.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("backed up ")
    assert "copy.db: 2 tickets, schema " in result.stdout
    assert _tickets(tmp_path / "copy.db") == _tickets(tmp_path / "desk.db")
    assert [t[0] for t in _tickets(tmp_path / "copy.db")] == [1, 2]
    assert not list(tmp_path.glob(".copy.db*"))  # no partial copy left behind

    # the copy is a desk the bot runs on, as it would after a restore
    listed = run(tmp_path, "tickets", "list", "all", DATABASE_URL=f"sqlite:///{tmp_path}/copy.db")
    assert listed.returncode == 0, listed.stderr
    assert "My parcel never came" in listed.stdout
    assert "purple elephant" in listed.stdout
    assert listed.stdout == run(tmp_path, "tickets", "list", "all").stdout


def test_the_copy_is_taken_while_another_process_writes(tmp_path: Path) -> None:
    _desk(tmp_path)
    writer = sqlite3.connect(tmp_path / "desk.db", isolation_level=None)
    try:
        # another process holds the write lock with a change not yet committed
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE tickets SET subject = 'not committed' WHERE number = 2")
        started = time.monotonic()
        result = run(tmp_path, "backup", "copy.db")
        took = time.monotonic() - started
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert result.returncode == 0, result.stderr
    assert took < 10  # it did not wait for the writer (SQLite's lock wait is 10 s)
    assert _tickets(tmp_path / "copy.db")[1][1] == "My parcel never came"
    assert _tickets(tmp_path / "desk.db")[1][1] == "not committed"


def test_a_backup_beside_a_running_bot(tmp_path: Path) -> None:
    with shell_bot(tmp_path, stdout=subprocess.PIPE) as bot:
        assert bot.stdin is not None
        assert bot.stdout is not None
        bot.stdin.write("alice> My invoice is wrong\n")
        bot.stdin.flush()
        line_starting(bot.stdout, "[staff #1]")  # written once the ticket is stored
        result = run(tmp_path, "backup", "copy.db")
        assert result.returncode == 0, result.stderr
        bot.stdin.write("carol> Where is my parcel?\n")
    assert bot.returncode == 0
    assert [t[1] for t in _tickets(tmp_path / "copy.db")] == ["My invoice is wrong"]
    assert len(_tickets(tmp_path / "desk.db")) == 2


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    _desk(tmp_path)
    (tmp_path / "copy.db").write_text("yesterday's copy", "utf-8")
    refused = run(tmp_path, "backup", "copy.db")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "supportbot: copy.db exists; name another file, or add --force to replace it"
    ]
    assert (tmp_path / "copy.db").read_text("utf-8") == "yesterday's copy"

    forced = run(tmp_path, "backup", "copy.db", "--force")
    assert forced.returncode == 0, forced.stderr
    assert _tickets(tmp_path / "copy.db") == _tickets(tmp_path / "desk.db")

    itself = run(tmp_path, "backup", "desk.db", "--force")
    assert itself.returncode == 2
    assert "is the desk itself" in itself.stderr
    missing = run(tmp_path, "backup", "no/such/folder/copy.db")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_no_desk_is_no_copy(tmp_path: Path) -> None:
    result = run(tmp_path, "backup", "copy.db")  # nothing has run on desk.db yet
    assert result.returncode == 1
    assert "there is no SQLite desk at" in result.stderr
    assert not (tmp_path / "desk.db").exists()  # looking did not make one
    assert not (tmp_path / "copy.db").exists()


def test_postgresql_is_refused_with_the_pg_dump_line(tmp_path: Path) -> None:
    url = "postgresql://support:s3cret@db.internal:5432/desk?ssl=require"
    result = run(tmp_path, "backup", "desk.dump", DATABASE_URL=url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        (
            "supportbot: backup copies a SQLite desk; for PostgreSQL run pg_dump --format=custom "
            "--file=desk.dump 'postgresql://support@db.internal:5432/desk?sslmode=require'"
        )
    ]
    assert "s3cret" not in result.stderr
    assert not (tmp_path / "desk.dump").exists()
