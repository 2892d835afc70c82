"""`supportbot check`: every configuration problem at once, then what can be reached: the
database (schema, outbox, digest, workers) and each configured platform, asked as the bot
would ask it at start but without holding anything. Exit status: 2 for a configuration
problem (a rejected token included), 1 for something unreachable, 0 when all is well."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO
from zoneinfo import ZoneInfo

from adapters.discord import settings as discord_settings
from adapters.slack import settings as slack_settings
from bot.config import Config, ConfigError
from bot.config_errors import Problems, Unreachable, every
from storage.engine import Database, StorageUnavailable
from storage.migrate import current_revision, head_revision
from storage.uow import SqlUnitOfWork

# how long each platform may take to answer: a check is for a person waiting at a terminal
REACH_SECONDS = 15.0
_PLATFORMS = {"slack": slack_settings, "discord": discord_settings}


def platform_problems(config: Config) -> dict[str, list[ConfigError]]:
    """Each configured platform's setting problems, all of them (empty when it has none)."""
    found: dict[str, list[ConfigError]] = {}
    for name, module in _PLATFORMS.items():
        if module.configured(config.env):
            problems = Problems()
            module.load(config.env, config.desk.teams, problems)
            found[name] = problems.found
    return found


def _say(line: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(line + "\n")


@dataclass
class _Report:
    code: int = 0
    problems: int = 0

    def problem(self, error: ConfigError) -> None:
        for each in every(error):
            _say(f"supportbot: configuration error: {each}", sys.stderr)
            self.problems += 1
        self.code = 2

    def unreachable(self, text: str) -> None:
        _say(f"supportbot: {text}", sys.stderr)
        self.code = max(self.code, 1)


async def check(config: Config, args: argparse.Namespace) -> int:
    problems: tuple[ConfigError, ...] = getattr(args, "problems", ())
    report = _Report()
    for problem in problems:
        report.problem(problem)
    workers: _Workers | None = None
    if any(p.variable == "DATABASE_URL" for p in problems):
        _say("database: not tried (DATABASE_URL has a problem)")
    else:
        workers = await _database(config, report)
    troubled = {name for name, found in platform_problems(config).items() if found}
    names = [name for name, module in _PLATFORMS.items() if module.configured(config.env)]
    _say(f"adapters: {', '.join(names or ['shell'])}")
    for name in names:
        if name in troubled:
            _say(f"{name}: not tried (its settings have problems)")
        else:
            holder = workers.gateway if workers is not None else None
            await _reach(name, config, report, holder)
    if workers is not None:
        _say(workers.line)
    # last: a platform may yet reject a token that reads well
    if report.problems:
        count = report.problems
        _say(f"configuration: {count} problem{'' if count == 1 else 's'} found")
    else:
        _say(
            f"configuration: ok (locale {config.desk.locale}, time zone "
            f"{config.desk.timezone}, teams {', '.join(config.desk.teams)})"
        )
    return report.code


@dataclass(frozen=True)
class _Workers:
    line: str
    gateway: str | None = None  # the process holding the Discord gateway, if one does


async def _database(config: Config, report: _Report) -> _Workers | None:
    """Prints what the database holds; returns who works on it (None when unreachable)."""
    from storage.leadership import workers as connected

    try:
        database = Database(config.database_url)
    except StorageUnavailable as error:
        report.unreachable(f"database error: {error}")
        return None
    try:
        await database.ping()
        # the running processes, this one left out (SQLite has one at most)
        found = await connected(database) if database.dialect_name == "postgresql" else None
        current = await current_revision(database)
        head = head_revision()
        waiting, digest = None, None
        if current == head:
            async with SqlUnitOfWork(database) as uow:
                waiting = await uow.outbox.pending_count()
                digest = await uow.reminders.by_key("digest")
    except StorageUnavailable as error:
        report.unreachable(f"database error: {error}")
        return None
    finally:
        await database.dispose()
    _say(f"database: reachable at {database.description}")
    state = "up to date" if current == head else f"at {current or 'empty'}, head is {head}"
    _say(f"schema: {state}" + ("" if current == head else " (run `supportbot migrate`)"))
    if waiting is not None:
        _say(f"outbox: {waiting} message(s) waiting to be delivered")
    at = config.desk.digest_time.strftime("%H:%M")
    if digest is not None:
        local = digest.due_at.astimezone(ZoneInfo(config.desk.timezone))
        _say(f"digest: daily at {at} {config.desk.timezone}; next {local:%Y-%m-%d %H:%M}")
    else:
        _say(f"digest: daily at {at} {config.desk.timezone} (scheduled when the bot starts)")
    if found is None:
        return _Workers("workers: one process (SQLite); use PostgreSQL to run several")
    count = len(found.processes)
    line = f"{count} supportbot process{'' if count == 1 else 'es'} connected"
    line += f" ({', '.join(found.processes)})" if count else ""
    if found.gateway:
        line += f"; {found.gateway} holds the Discord gateway"
    elif discord_settings.configured(config.env):
        line += "; none holds the Discord gateway"
    return _Workers(f"workers: {line}", found.gateway)


async def _reach(name: str, config: Config, report: _Report, gateway: str | None) -> None:
    try:
        async with asyncio.timeout(REACH_SECONDS):
            if name == "slack":
                from adapters.slack.app import SlackAdapter  # Bolt is imported only when used

                who = await SlackAdapter(slack_settings.load(config.env, config.desk.teams)).reach()
            else:
                from adapters.discord.app import DiscordAdapter  # discord.py likewise

                adapter = DiscordAdapter(discord_settings.load(config.env, config.desk.teams))
                who = await adapter.reach(gateway)
    except ConfigError as error:
        report.problem(error)
    except Unreachable as error:
        report.unreachable(str(error))
    except TimeoutError:
        report.unreachable(f"no answer from {name} in {REACH_SECONDS:g} s")
    else:
        _say(f"{name}: reached as {who}")
