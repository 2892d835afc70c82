"""`supportbot migrate [--to REV] [--yes]`: the schema up to date, up to a given revision, or
back to the one an older version knows. Rolling back drops what the newer migrations added,
so it asks first (unless --yes) and refuses while a supportbot process still uses the
database."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from bot.config import Config
from storage.engine import Database
from storage.leadership import workers
from storage.migrate import (
    CannotRollBack,
    UnknownRevision,
    current_revision,
    describe,
    downgrade,
    steps,
    upgrade,
)
from storage.run_lock import run_lock_for


def add_migrate_command(sub: Any) -> None:
    """Add `migrate` to the `supportbot` command's sub-commands."""
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument(
        "--to", metavar="REV", help="to this revision instead; an older one rolls back to it"
    )
    migrate.add_argument("--yes", action="store_true", help="roll back without asking")
    migrate.set_defaults(func=_migrate)


async def _migrate(config: Config, args: argparse.Namespace) -> int:
    database = Database(config.database_url)
    try:
        await database.ping()
        if args.to is not None:
            return await _migrate_to(config, database, args.to, args.yes)
        applied = await upgrade(database)
    finally:
        await database.dispose()
    _say(f"applied: {', '.join(applied)}" if applied else "schema already up to date")
    return 0


async def _migrate_to(config: Config, database: Database, target: str, yes: bool) -> int:
    """Up to a newer revision, or back to an older one (asking first: it drops data)."""
    try:
        to_apply, to_roll_back = steps(await current_revision(database), target)
    except UnknownRevision as error:
        _say(f"supportbot: {error}", sys.stderr)
        return 2
    if to_apply:
        _say(f"applied: {', '.join(await upgrade(database, to_apply[-1]))}")
    elif not to_roll_back:
        _say(f"schema already at {target}")
    else:
        _say("rolling back drops what these migrations added, with what it holds:")
        for revision in to_roll_back:
            _say(f"  {revision} {describe(revision)}")
        if not yes and not _confirmed(f"roll back to {target}? [y/N] "):
            _say("nothing rolled back")
            return 1
        if database.dialect_name == "postgresql" and (others := await workers(database)).processes:
            _say(
                f"supportbot: stop every supportbot process first ({', '.join(others.processes)}"
                " connected); nothing rolled back",
                sys.stderr,
            )
            return 1
        lock = run_lock_for(config.database_url)  # SQLite: refused while `run` uses the file
        if lock is not None:
            lock.acquire()
        try:
            rolled = await downgrade(database, target)
        except CannotRollBack as error:
            _say(f"supportbot: cannot roll back: {error}; nothing rolled back", sys.stderr)
            return 1
        finally:
            if lock is not None:
                lock.release()
        _say(f"rolled back: {', '.join(rolled)}")
    return 0


def _confirmed(question: str) -> bool:
    sys.stdout.write(question)
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if not sys.stdin.isatty():  # a piped answer is not echoed: end the question's line
        sys.stdout.write("\n")
    return answer.strip().lower() in ("y", "yes")


def _say(line: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(line + "\n")
