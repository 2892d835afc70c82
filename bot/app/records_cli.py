"""`supportbot export` and `supportbot erase`: the desk's records, for operators."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config
from storage.engine import Database, StorageUnavailable
from storage.erasure import erase, preview
from storage.export import FORMATS, export
from storage.migrate import current_revision, head_revision

CONFIRMATION = "erase"


def add_record_commands(sub: Any) -> None:
    """Add `export` and `erase` to the `supportbot` command's sub-commands."""
    out = sub.add_parser("export", help="write every ticket with its messages and events")
    out.add_argument("--since", type=_day, help="only tickets opened on or after this day")
    out.add_argument("--format", choices=FORMATS, default="jsonl", help="jsonl (default) or csv")
    out.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    out.set_defaults(func=_export)
    gone = sub.add_parser(
        "erase", help="erase a customer's words, name and identities; tickets stay, anonymised"
    )
    gone.add_argument("--customer", required=True, help="the customer as platform:user id")
    gone.add_argument("--yes", action="store_true", help="erase without asking first")
    gone.set_defaults(func=_erase)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-12-01") from None


def _identity(text: str) -> tuple[str, str] | None:
    platform, _, user_id = text.strip().partition(":")
    return (platform, user_id) if platform and user_id else None


async def _export(config: Config, args: argparse.Namespace) -> int:
    since = None
    if args.since is not None:  # the day begins at midnight where the desk is
        since = datetime.combine(args.since, time(0), ZoneInfo(config.desk.timezone))
    database = await _ready(config)
    # what start-up built lives as long as the process: out of the collector's sight, the
    # collections that millions of short-lived rows set off stay short (a third of the time)
    gc.freeze()
    try:
        with _sink(args.output) as sink:
            count = await export(database, sink, args.format, since)
            sink.flush()
    except BrokenPipeError:  # the reader has had enough (`| head`): not an error
        _silence_stdout()
        return 0
    except OSError as error:
        where = args.output or "standard output"
        _tell(f"supportbot: cannot write {where}: {error.strerror or error}", sys.stderr)
        return 2
    except SQLAlchemyError as error:
        raise _outage(error) from error
    finally:
        await database.dispose()
    _tell(f"exported {_count(count, 'ticket')}", sys.stderr)
    return 0


@contextmanager
def _sink(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(encoding="utf-8")  # the export is UTF-8 whatever the locale
        yield sys.stdout
        return
    with Path(path).open("w", encoding="utf-8", newline="") as file:
        yield file


def _silence_stdout() -> None:
    # whatever is still buffered would fail again when Python flushes it on the way out
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


async def _erase(config: Config, args: argparse.Namespace) -> int:
    identity = _identity(args.customer)
    if identity is None:
        _tell(
            f"supportbot: --customer {args.customer!r} is not platform:user id "
            "(for example slack:U012AB3CD)",
            sys.stderr,
        )
        return 2
    if not args.yes and not sys.stdin.isatty():
        _tell("supportbot: erase asks for confirmation at a terminal; add --yes", sys.stderr)
        return 2
    who = ":".join(identity)
    database = await _ready(config)
    try:
        if not args.yes:
            scope = await preview(database, *identity)
            if scope is not None:
                _tell(
                    f"Customer #{scope.customer_id} ({who}): {_count(scope.tickets, 'ticket')}, "
                    f"{_count(scope.messages, 'message')} of theirs, "
                    f"{_count(scope.identities, 'identity', 'identities')}.\n"
                    "Their words, name and identities will be erased for good; "
                    "the tickets stay, anonymised."
                )
                answer = await asyncio.to_thread(input, f"Type {CONFIRMATION} to go on: ")
                if answer.strip() != CONFIRMATION:
                    _tell("Nothing erased.")
                    return 1
        scope = await erase(database, *identity, by=_operator(), at=datetime.now(UTC))
    except (EOFError, KeyboardInterrupt):
        _tell("\nNothing erased.")
        return 1
    except SQLAlchemyError as error:
        raise _outage(error) from error
    finally:
        await database.dispose()
    if scope is None:
        _tell(f"No customer is known as {who} (never seen, or erased already); nothing changed.")
        return 0
    _tell(
        f"Erased customer #{scope.customer_id}: {_count(scope.tickets, 'ticket')} anonymised, "
        f"{_count(scope.messages, 'message')} emptied, "
        f"{_count(scope.identities, 'identity', 'identities')} removed."
    )
    return 0


def _tell(line: str, stream: TextIO | None = None) -> None:
    """A line for the operator (the terminal is this command's user interface)."""
    (stream or sys.stdout).write(line + "\n")


def _count(things: Any, one: str, many: str = "") -> str:
    n = things if isinstance(things, int) else len(things)
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _operator() -> str:
    """Who ran the command, as the erasure's record says."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in this environment
        return "cli:operator"


async def _ready(config: Config) -> Database:
    """The database, reachable and with an up-to-date schema."""
    database = Database(config.database_url)
    try:
        await database.ping()
        current, head = await current_revision(database), head_revision()
    except SQLAlchemyError as error:
        await database.dispose()
        raise _outage(error) from error
    except BaseException:
        await database.dispose()
        raise
    if current != head:
        await database.dispose()
        raise StorageUnavailable(
            f"the schema is at {current or 'empty'}, not {head}: run `supportbot migrate` first"
        )
    return database


def _outage(error: SQLAlchemyError) -> StorageUnavailable:
    detail = str(getattr(error, "orig", None) or error).splitlines()[0]
    return StorageUnavailable(detail)
