"""`supportbot`: run, check, migrate [--to REV], tickets list|show|transcript, digest, tick."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import re
import signal
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.slack import settings as slack_settings
from bot.app import logs
from bot.app.backup_cli import add_backup_command
from bot.app.bootstrap import build
from bot.app.check import check, platform_problems
from bot.app.health import Health, http_port
from bot.app.kb_cli import add_kb_commands
from bot.app.migrate_cli import add_migrate_command
from bot.app.records_cli import add_record_commands
from bot.clock import SystemClock
from bot.commands import Caller, ListTickets, ShowDigest, ShowTicket, ShowTranscript
from bot.config import Config, ConfigError, load_config
from bot.config_errors import Problems, Unreachable, every
from bot.model import Person
from bot.parser import LIST_FILTERS
from bot.tags import BadTag, normalise
from storage.database_url import check_configured_url
from storage.engine import StorageUnavailable
from storage.run_lock import run_lock_for

log = logging.getLogger("supportbot")
OPERATOR = Person("cli", "operator", "operator")
MANIFEST = Path(__file__).resolve().parents[2] / "adapters" / "slack" / "manifest.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # output into a pipe waits in a buffer: a reader gone shows here
    except SystemExit:  # argparse's --help and usage errors: a help nobody reads may go
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _nobody_reads()
        raise
    except BrokenPipeError:
        _nobody_reads()
        return 128 + signal.SIGPIPE  # as a program stopped by SIGPIPE ends
    return code


def _nobody_reads() -> None:
    """The reader left (`supportbot ... | head -1`): the rest has nobody to read it, and
    Python's own flush at exit would complain of it too."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    problems = Problems()
    config = load_config(problems=problems)
    problems.read(lambda: check_configured_url(config.database_url), None)
    log_format = problems.read(lambda: logs.log_format(config.env), "text")
    if not slack_settings.configured(config.env):  # else Slack's settings read the port
        problems.read(lambda: http_port(config.env), None)
    if getattr(args, "platforms", False):  # a command that starts or tries the platforms
        for found in platform_problems(config).values():
            problems.found.extend(found)
    args.problems = tuple(problems.found)
    if problems.found and args.func is not check:  # check names them among what it finds
        _print_problems(problems.found)
        return 2
    logs.configure(config.log_level, log_format, config.env)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration is ours
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # two lines per tick would bury the shell's conversation; warnings still show
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        return int(asyncio.run(args.func(config, args)))
    except StorageUnavailable as error:
        print(f"supportbot: database error: {error}", file=sys.stderr)
        return 1
    except ConfigError as error:  # found when an adapter connects (a rejected token, say)
        _print_problems(every(error))
        return 2
    except Unreachable as error:  # a platform that did not answer at start
        print(f"supportbot: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _print_problems(problems: Iterable[ConfigError]) -> None:
    for problem in problems:
        print(f"supportbot: configuration error: {problem}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="command")
    run = sub.add_parser("run", help="start every configured adapter (the shell when none is)")
    run.set_defaults(func=_run, platforms=True)
    sub.add_parser(
        "check", help="name every configuration problem; try the database and each platform"
    ).set_defaults(func=check, platforms=True)
    add_migrate_command(sub)
    slack = sub.add_parser("slack", help="Slack helpers")
    slack_sub = slack.add_subparsers(required=True, metavar="action")
    slack_sub.add_parser("manifest", help="print the Slack app manifest").set_defaults(
        func=_slack_manifest
    )
    discord = sub.add_parser("discord", help="Discord helpers")
    discord_sub = discord.add_subparsers(required=True, metavar="action")
    discord_sub.add_parser(
        "invite-url", help="print the link that adds the bot to a server"
    ).set_defaults(func=_discord_invite)
    digest = sub.add_parser("digest", help="the leads' daily digest for the last 24 hours")
    digest.add_argument(
        "--print", action="store_true", dest="print_", help="print it here (the default)"
    )
    digest.set_defaults(func=_digest)
    sub.add_parser(
        "tick", help="fire every follow-up, response-target check and digest that is due, once"
    ).set_defaults(func=_tick, platforms=True)
    tickets = sub.add_parser("tickets", help="look at tickets as an operator")
    tsub = tickets.add_subparsers(required=True, metavar="action")
    lst = tsub.add_parser("list", help="list tickets")
    # "mine" has no meaning for an operator, who holds no tickets
    lst.add_argument(
        "filter", nargs="?", default="open", choices=[f for f in LIST_FILTERS if f != "mine"]
    )
    lst.add_argument("--customer", default="", help="a customer as platform:user id")
    lst.add_argument("--assignee", default="", help="an agent as platform:user id")
    lst.add_argument("--since", type=_date, help="opened on or after this day (YYYY-MM-DD)")
    lst.add_argument("--tag", type=_tag, help="tickets with this tag")
    lst.add_argument("--limit", type=_positive, default=200, help="at most this many (200)")
    lst.set_defaults(func=_tickets_list)
    show = tsub.add_parser("show", help="one ticket: its card, conversation and history")
    show.add_argument("number", type=lambda s: int(s.lstrip("#")))
    show.set_defaults(func=_tickets_show)
    transcript = tsub.add_parser("transcript", help="one ticket's transcript, as it stands")
    transcript.add_argument("number", type=lambda s: int(s.lstrip("#")))
    transcript.add_argument(
        "--format", choices=["text", "html", "json"], default="text", help="text (the default)"
    )
    transcript.set_defaults(func=_tickets_transcript)
    add_record_commands(sub)
    add_kb_commands(sub)
    add_backup_command(sub)
    return parser


async def _run(config: Config, args: argparse.Namespace) -> int:
    lock = run_lock_for(config.database_url)
    if lock is not None:
        lock.acquire()
    try:
        return await _run_platforms(config)
    finally:
        if lock is not None:
            lock.release()


async def _run_platforms(config: Config) -> int:
    from bot.app.registry import configured

    clock = SystemClock()
    platforms = configured(config, clock)
    if not platforms:
        return await _run_shell(config)
    app = await build(config, {a.name: a.deliverer for a in platforms}, clock=clock)
    app.share_rates(p for a in platforms for p in a.pacers)
    health = Health(app, platforms, clock, (a.name for a in platforms))
    started = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await health.start(http_port(config.env))  # before the adapters: Slack may serve it
        for adapter in platforms:
            await adapter.start(app.desk)
            started.append(adapter)
        await app.start_scheduler()
        _settle_memory()
        log.info(
            "started adapters: %s (database: %s); roles: intake, delivery, reminders%s",
            ", ".join(a.name for a in started),
            app.database.description,
            "".join(f"; {role}" for a in started if (role := getattr(a, "role", ""))),
        )
        await app.sender.run(stop)
    finally:
        for adapter in reversed(started):
            await adapter.stop()
        await health.stop()
        await app.close()
    return 0


def _settle_memory() -> None:
    """What start-up built lives as long as the process: out of the garbage collector's
    sight, a full collection (which holds every thread, the event loop's too) stays short."""
    gc.collect()
    gc.freeze()


async def _run_shell(config: Config) -> int:
    from adapters.shell import ShellAdapter
    from adapters.shell.terminal import Lines

    shell = ShellAdapter(sys.stdout, staff=config.shell_staff)
    app = await build(config, {shell.platform: shell})
    lines = Lines(sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    health = Health(app, (), SystemClock(), [shell.platform])
    try:
        await health.start(http_port(config.env))
        log.info("started adapters: shell (database: %s)", app.database.description)
        await app.start_scheduler()
        stop = asyncio.Event()
        background = asyncio.create_task(app.sender.run(stop))
        await shell.run(app.desk, lines, app.sender.drain)
        stop.set()
        await background
        await app.sender.drain()  # whatever the last line caused is shown before we leave
    finally:
        lines.close()
        await health.stop()
        await app.close()
    return 0


async def _discord_invite(config: Config, args: argparse.Namespace) -> int:
    from adapters.discord.invite import PERMISSIONS, invite_url

    token = config.env.get("DISCORD_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError("DISCORD_BOT_TOKEN", "set it first: the link carries the bot's id")
    print(invite_url(token))
    print("It asks for: " + "; ".join(PERMISSIONS), file=sys.stderr)
    return 0


async def _slack_manifest(config: Config, args: argparse.Namespace) -> int:
    print(MANIFEST.read_text("utf-8"), end="")
    return 0


async def _as_operator(
    config: Config, command: ListTickets | ShowTicket | ShowDigest | ShowTranscript
) -> int:
    """Run a read-only desk command as a lead would, without starting any adapter."""
    app = await build(config, {})
    try:
        outcome = await app.desk.handle(command, Caller(OPERATOR, is_staff=True, is_lead=True))
    finally:
        await app.close()
    if not outcome.ok:
        print(f"supportbot: {plain(outcome.text)}", file=sys.stderr)
        return 1
    text = outcome.text if isinstance(command, ShowTranscript) else plain(outcome.text)
    print(text.rstrip("\n"))
    return 0


async def _digest(config: Config, args: argparse.Namespace) -> int:
    return await _as_operator(config, ShowDigest())


async def _tick(config: Config, args: argparse.Namespace) -> int:
    """Fire what is due, for operators and for cron-driven deployments; safe beside `run`."""
    from bot.app.registry import configured

    clock = SystemClock()
    platforms = configured(config, clock)
    from adapters.shell import ShellAdapter

    # with no platform configured, the digest is for the shell, shown when it next runs
    deliverers = {a.name: a.deliverer for a in platforms} or {"shell": ShellAdapter(sys.stdout)}
    app = await build(config, deliverers, clock=clock)
    try:
        await app.runner.start()
        fired = await app.runner.fire_due()
    finally:
        await app.close()
    print(f"fired {fired} due item(s); the running bot delivers what they wrote")
    return 0


async def _tickets_list(config: Config, args: argparse.Namespace) -> int:
    since = None
    if args.since is not None:  # the day begins at midnight where the desk is
        since = datetime.combine(args.since, time(0), ZoneInfo(config.desk.timezone))
    command = ListTickets(
        args.filter, args.customer, args.assignee, since, tag=args.tag or "", limit=args.limit
    )
    return await _as_operator(config, command)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 up")
    return int(text)


def _tag(text: str) -> str:
    try:
        return normalise(text)
    except BadTag as bad:
        why = "is longer than 50 characters" if bad.reason == "too_long" else "is not one word"
        raise argparse.ArgumentTypeError(f"{text!r} {why}, so it cannot be a tag") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-12-01") from None


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_TICKET_LINK = re.compile(r"\[(#\d+)\]\(ticket:\d+\)")


def plain(text: str) -> str:
    """Chat Markdown as a terminal shows it: no asterisks or code fences, ticket links as
    their numbers."""
    lines = [line for line in text.splitlines() if not line.startswith("```")]
    return _TICKET_LINK.sub(r"\1", _BOLD.sub(r"\1", "\n".join(lines)))


async def _tickets_show(config: Config, args: argparse.Namespace) -> int:
    return await _as_operator(config, ShowTicket(args.number, whole=True))


async def _tickets_transcript(config: Config, args: argparse.Namespace) -> int:
    return await _as_operator(config, ShowTranscript(args.number, args.format))
