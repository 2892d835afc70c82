"""`supportbot backup FILE`: a consistent copy of the SQLite desk, taken while the bot runs.

The copy is one read transaction through SQLite's backup API. The desk runs in WAL mode, where
a reader takes no lock that a writer waits for: the bot goes on storing messages while the
copy is made, and the copy is the desk as it was at one moment. It is written beside FILE
under another name, checked, and only then renamed to FILE, so FILE is never half a desk.

PostgreSQL has its own tool for this, pg_dump: the command refuses and names it."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, make_url

from bot.config import Config
from storage.engine import LOCK_WAIT, StorageUnavailable, resolve_url


def add_backup_command(sub: Any) -> None:
    """Add `backup` to the `supportbot` command's sub-commands."""
    backup = sub.add_parser(
        "backup", help="copy the SQLite desk to FILE, also while the bot runs (not PostgreSQL)"
    )
    backup.add_argument("file", metavar="FILE", help="where the copy goes")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(func=_backup)


@dataclass(frozen=True)
class Copy:
    tickets: int
    revision: str
    size: int


class Refused(Exception):
    """What is asked cannot be done; the message says why and what to do instead."""


async def _backup(config: Config, args: argparse.Namespace) -> int:
    try:
        source, target, copy = await asyncio.to_thread(_take, config, args.file, args.force)
    except Refused as refusal:
        _tell(f"supportbot: {refusal}", sys.stderr)
        return 2
    except OSError as error:
        _tell(f"supportbot: cannot write {args.file}: {error.strerror or error}", sys.stderr)
        return 2
    _tell(
        f"backed up {source} to {target}: {copy.tickets:,} ticket{'' if copy.tickets == 1 else 's'}"
        f", schema {copy.revision}, {copy.size:,} bytes"
    )
    return 0


def _take(config: Config, file: str, force: bool) -> tuple[Path, Path, Copy]:
    url = resolve_url(config.database_url)
    if url.get_backend_name() == "postgresql":
        raise Refused(
            "backup copies a SQLite desk; for PostgreSQL run "
            + pg_dump_command(config.database_url, file)
        )
    if not url.database or url.database == ":memory:":
        raise Refused("DATABASE_URL is a SQLite database in memory: there is no file to copy")
    source, target = Path(url.database), Path(file)
    if not source.is_file():
        raise StorageUnavailable(
            f"there is no SQLite desk at {url.database!r} (DATABASE_URL): nothing to copy"
        )
    _check_target(source, target, force=force)
    lock_wait = float(str(url.query.get("timeout", LOCK_WAIT)))
    try:
        return source, target, copy_desk(source, target, lock_wait)
    except sqlite3.Error as error:
        raise StorageUnavailable(f"cannot copy {url.database}: {error}") from error


def _check_target(source: Path, target: Path, *, force: bool) -> None:
    if target.exists() and target.resolve() == source.resolve():
        raise Refused(f"{target} is the desk itself; name another file for the copy")
    if target.is_dir():
        raise Refused(f"{target} is a folder; name a file for the copy")
    if target.exists() and not force:
        raise Refused(f"{target} exists; name another file, or add --force to replace it")
    folder = target.parent
    if not folder.is_dir():
        raise Refused(f"cannot write {target}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise Refused(f"cannot write {target}: the folder {str(folder)!r} is not writable")


def copy_desk(source: Path, target: Path, lock_wait: float) -> Copy:
    """Copy the desk at `source` to `target` in one read transaction; the copy is checked
    before it takes `target`'s name (replacing what was there)."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a copy that was cut short
    try:
        # mode=rw: a missing desk is an error here, never an empty new one
        live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=lock_wait)
        try:
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy)  # every page in one step: one snapshot, never restarted
                tickets, revision = _inspect(copy, source)
            finally:
                copy.close()
        finally:
            live.close()
        _fsync(partial)
        partial.replace(target)
        _fsync(target.parent)  # the rename itself survives a crash
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copy(tickets, revision, target.stat().st_size)


def _inspect(copy: sqlite3.Connection, source: Path) -> tuple[int, str]:
    """The copy's ticket count and schema revision, once SQLite finds it sound."""
    check = copy.execute("PRAGMA quick_check").fetchone()
    if check is None or check[0] != "ok":
        raise sqlite3.DatabaseError(f"the copy failed SQLite's check: {check and check[0]}")
    tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master")}
    if not {"alembic_version", "tickets"} <= tables:
        raise Refused(f"{source} holds no supportbot desk (run `supportbot migrate` to make one)")
    revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    tickets = copy.execute("SELECT count(*) FROM tickets").fetchone()
    return int(tickets[0]), revision[0] if revision else "empty"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pg_dump_command(database_url: str, file: str) -> str:
    """The pg_dump line that backs up the database at `database_url` into `file`: the URL as
    libpq reads it, without its password (pg_dump takes it from PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url)
    query = dict(url.query)
    if "ssl" in query:  # asyncpg's spelling; libpq's is sslmode
        query.setdefault("sslmode", query.pop("ssl"))
    plain = URL.create("postgresql", url.username, None, url.host, url.port, url.database, query)
    dsn = plain.render_as_string(hide_password=False)
    return f"pg_dump --format=custom --file={shlex.quote(file)} {shlex.quote(dsn)}"


def _tell(line: str, stream: Any = None) -> None:
    """A line for the operator (the terminal is this command's user interface)."""
    (stream or sys.stdout).write(line + "\n")
