"""`supportbot migrate --to REV` as an operator runs it, on SQLite and PostgreSQL: back to an
older revision only after a yes (or with --yes), naming what it rolled back; forward again to
a newer one; an unknown revision refused in one line with status 2."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.engine import Database, process_label
from storage.migrate import revisions
from storage.run_lock import run_lock_for
from tests.e2e.test_operator_edges import environment
from tests.support.bot_process import SUPPORTBOT
from tests.support.pg import required_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    async with required_database("migrate_cli") as url:
        yield url


async def supportbot(
    tmp_path: Path, url: str, *args: str, answer: str = ""
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [SUPPORTBOT, "migrate", *args],
        input=answer,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(tmp_path, DATABASE_URL=url),
        timeout=60,
        check=False,
    )


async def test_back_only_after_a_yes_and_forward_again(tmp_path: Path, database_url: str) -> None:
    known = revisions()
    target = known[-3]  # two migrations back, whichever they are
    newer = known[-2:]
    up = await supportbot(tmp_path, database_url)
    assert up.returncode == 0, up.stderr
    assert up.stdout == f"applied: {', '.join(known)}\n"

    declined = await supportbot(tmp_path, database_url, "--to", target, answer="n\n")
    assert declined.returncode == 1
    lines = declined.stdout.splitlines()
    assert lines[0] == "rolling back drops what these migrations added, with what it holds:"
    assert [line.split()[0] for line in lines[1:3]] == list(reversed(newer))
    assert lines[3].startswith(f"roll back to {target}? [y/N]")
    assert lines[-1] == "nothing rolled back"
    unchanged = await supportbot(tmp_path, database_url)
    assert unchanged.stdout == "schema already up to date\n"  # the no changed nothing

    rolled = await supportbot(tmp_path, database_url, "--to", target, answer="y\n")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines()[-1] == f"rolled back: {', '.join(reversed(newer))}"
    assert rolled.stderr == ""

    again = await supportbot(tmp_path, database_url, "--to", target, "--yes")
    assert (again.returncode, again.stdout) == (0, f"schema already at {target}\n")
    forward = await supportbot(tmp_path, database_url, "--to", "head")
    assert (forward.returncode, forward.stdout) == (0, f"applied: {', '.join(newer)}\n")

    back = await supportbot(tmp_path, database_url, "--to", known[-2], "--yes")
    assert back.returncode == 0, back.stderr
    assert "? [y/N]" not in back.stdout  # --yes asks nothing
    assert back.stdout.splitlines()[-1] == f"rolled back: {known[-1]}"


async def test_an_unknown_revision_is_one_line_and_status_2(
    tmp_path: Path, database_url: str
) -> None:
    await supportbot(tmp_path, database_url)
    unknown = await supportbot(tmp_path, database_url, "--to", "0042", "--yes")
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    known = revisions()
    assert unknown.stderr == (
        f"supportbot: '0042' is not a migration this version knows; use one of {known[0]} "
        f"to {known[-1]}, or head\n"
    )


async def test_no_rollback_while_a_bot_uses_the_database(tmp_path: Path, database_url: str) -> None:
    await supportbot(tmp_path, database_url)
    target = revisions()[-2]
    if database_url.startswith("sqlite"):
        lock = run_lock_for(database_url)  # as a running `supportbot run` holds it
        assert lock is not None
        lock.acquire()
        try:
            refused = await supportbot(tmp_path, database_url, "--to", target, "--yes")
        finally:
            lock.release()
        assert refused.stderr.startswith("supportbot: database error: another supportbot run")
    else:
        running = Database(database_url)  # this process, as another worker would be
        try:
            await running.ping()
            refused = await supportbot(tmp_path, database_url, "--to", target, "--yes")
        finally:
            await running.dispose()
        assert refused.stderr == (
            f"supportbot: stop every supportbot process first ({process_label()} connected); "
            "nothing rolled back\n"
        )
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1
    still = await supportbot(tmp_path, database_url)
    assert still.stdout == "schema already up to date\n"
