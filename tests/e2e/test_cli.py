"""The real `supportbot` command, driven as a user runs it: the shell adapter on SQLite."""

from __future__ import annotations

import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

SUPPORTBOT = str(Path(sys.executable).with_name("supportbot"))


def run(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "DATABASE_URL"))
    }
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}"} | env
    return subprocess.run(
        [SUPPORTBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
        check=False,
    )


SESSION = """\
# a customer writes, an agent works the ticket
alice> Hi, I can't log in to my account
@bob> /ticket claim
@bob> Hi Alice, I've sent you a reset link.
@bob> // reset link sent manually from the admin panel
alice> Thanks, it worked but now billing shows the wrong plan
@bob> /ticket escalate billing wrong plan after reset
@carol> /ticket claim
@carol> /ticket close plan corrected
alice> !csat:5:1
"""


def test_a_whole_ticket_through_the_shell(tmp_path: Path) -> None:
    result = run(tmp_path, "run", stdin=SESSION)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[staff #1] new ticket" in out
    assert "Priority: High" in out
    assert "[to alice]\n    Hi alice, thanks for reaching out! We have opened ticket #1" in out
    assert "[staff #1] alice: Hi, I can't log in to my account" in out
    assert "[reply to @bob] You claimed ticket #1." in out
    assert "[staff #1] card: claimed · high · bob" in out
    assert "[staff #1] card: escalated · high · unassigned" in out
    assert "[to alice] bob: Hi Alice, I've sent you a reset link." in out
    assert "[staff #1] (internal note) bob: reset link sent manually" in out
    assert "reset link sent manually" not in out.split("(internal note)")[0]
    assert "[to alice] bob: reset link" not in out
    assert "bob escalated this ticket to billing (level 1): wrong plan after reset." in out
    assert "[reply to @carol] Ticket #1 closed." in out
    assert "we have closed ticket #1: plan corrected" in out
    assert "[staff #1] The customer rated this ticket 5/5." in out
    assert "started adapters: shell" in result.stderr
    assert "apscheduler" not in result.stderr  # no log line per tick between the messages

    db = sqlite3.connect(tmp_path / "desk.db")
    kinds = [row[0] for row in db.execute("SELECT kind FROM ticket_events ORDER BY id")]
    assert kinds == [
        "opened",
        "claimed",
        "first_response",
        "status",
        "note",
        "status",
        "escalated",
        "claimed",
        "closed",
        "rated",
    ]
    actors = [row[0] for row in db.execute("SELECT actor_name FROM ticket_events ORDER BY id")]
    assert actors[6:9] == ["bob", "carol", "carol"]
    assert db.execute("SELECT count(*) FROM outbox WHERE status != 'sent'").fetchone() == (0,)

    shown = run(tmp_path, "tickets", "show", "1")
    assert shown.returncode == 0
    assert "Status: Closed" in shown.stdout
    assert "bob escalated the ticket to billing (level 1): wrong plan after reset." in shown.stdout
    listed = run(tmp_path, "tickets", "list")
    assert "There are no open tickets." in listed.stdout
    # the conversation on record, in plain text for the terminal
    assert "Conversation (" in shown.stdout
    assert "· alice: Hi, I can't log in to my account" in shown.stdout
    assert "**" not in shown.stdout
    closed = run(tmp_path, "tickets", "list", "closed", "--customer", "shell:alice")
    assert closed.stdout.startswith("Closed tickets (1)\n• #1 ")
    today = run(tmp_path, "tickets", "list", "all", "--since", "2999-01-01")
    assert today.stdout.strip() == "There are no tickets."
    nobody = run(tmp_path, "tickets", "list", "all", "--customer", "shell:nobody")
    assert nobody.returncode == 1
    assert nobody.stdout == ""  # the refusal is the operator's one line on stderr
    assert nobody.stderr.startswith("supportbot: There is no customer shell:nobody.")
    bad_day = run(tmp_path, "tickets", "list", "--since", "yesterday")
    assert bad_day.returncode == 2
    assert "'yesterday' is not a day like 2026-12-01" in bad_day.stderr
    assert "Traceback" not in bad_day.stderr


def test_bad_input_gets_clear_messages_and_loses_nothing(tmp_path: Path) -> None:
    huge = "y" * 50_000
    script = (
        "\n".join(
            [
                "alice>",
                "alice>    ",
                f"alice> {huge}",
                "alice> before\x00after",
                "@bob> /ticket dance",
                "@bob> /ticket close #77",
                "@bob> /ticket reopen #1",
                "@bob> /ticket close #1 done",
                "@bob> /ticket close #1",
                "@bob> late reply",
                "@bob> /ticket followup #1 in someday",
                "what is this line",
                "alice> !csat:9:1",
            ]
        )
        + "\n"
    )
    result = run(tmp_path, "run", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("That message is empty, so there is nothing to send.") == 2
    assert "I don't know `dance`" in out
    assert "There is no ticket #77." in out
    assert "Ticket #1 is not closed (it is open)" in out
    assert "Ticket #1 is already closed. Use `/ticket reopen #1`" in out
    assert "your reply was not sent to the customer (it is kept in the ticket)" in out
    assert '"someday" is not a duration' in out
    assert "I can't read 'what is this line'" in out
    assert "Traceback" not in out + result.stderr
    db = sqlite3.connect(tmp_path / "desk.db")
    bodies = [row[0] for row in db.execute("SELECT body FROM ticket_messages ORDER BY id")]
    assert bodies == [huge, "before\ufffdafter", "late reply"]
    assert f"[staff #1] alice: {huge}" in out


def test_japanese_customer_and_staff_refusal(tmp_path: Path) -> None:
    script = (
        "kenji(ja)> 至急: アカウントが盗まれました\n@mallory> /ticket claim\n"
        "@mallory> hello\n@bob> /ticket claim\n"
    )
    result = run(tmp_path, "run", stdin=script, SUPPORTBOT_SHELL_STAFF="bob")
    assert result.returncode == 0
    assert "kenji 様、お問い合わせありがとうございます。チケット #1" in result.stdout
    assert "15分以内" in result.stdout
    assert "Priority: Urgent" in result.stdout
    assert result.stdout.count("Only support staff can use ticket commands.") == 2
    assert "[reply to @bob] You claimed ticket #1." in result.stdout


@pytest.mark.parametrize(
    ("env", "code", "words"),
    [
        ({"SUPPORTBOT_LOCALE": "fr"}, 2, "SUPPORTBOT_LOCALE: 'fr' has no templates"),
        ({"SUPPORTBOT_TIMEZONE": "Nowhere/City"}, 2, "SUPPORTBOT_TIMEZONE"),
        ({"DATABASE_URL": "sqlite:////nonexistent-dir/desk.db"}, 1, "does not exist"),
        (
            {"DATABASE_URL": "postgresql://postgres:s3cret-pw@127.0.0.1:1/test"},
            1,
            "cannot use the database at postgresql+asyncpg://postgres:***@127.0.0.1:1/test",
        ),
        ({"DATABASE_URL": "mysql://x@localhost/db"}, 2, "DATABASE_URL: 'mysql' is not supported"),
    ],
)
def test_bad_configuration_is_explained_without_a_traceback(
    tmp_path: Path, env: dict[str, str], code: int, words: str
) -> None:
    for command in (["run"], ["check"]):
        result = run(tmp_path, *command, **env)
        assert result.returncode == code
        assert words in result.stderr
        assert "Traceback" not in result.stderr
        assert "s3cret-pw" not in result.stderr


def test_check_and_migrate(tmp_path: Path) -> None:
    before = run(tmp_path, "check")
    assert before.returncode == 0
    assert "schema: at empty" in before.stdout
    migrated = run(tmp_path, "migrate")
    assert migrated.returncode == 0
    assert "applied: 0001, 0002" in migrated.stdout
    assert "already up to date" in run(tmp_path, "migrate").stdout
    after = run(tmp_path, "check", DIGEST_TIME="08:15", SUPPORTBOT_TIMEZONE="Asia/Tokyo")
    assert "schema: up to date" in after.stdout
    assert "database: reachable" in after.stdout
    assert "outbox: 0 message(s) waiting" in after.stdout
    assert "digest: daily at 08:15 Asia/Tokyo (scheduled when the bot starts)" in after.stdout
    assert run(tmp_path, "tick").returncode == 0  # schedules it, as a start does
    assert "digest: daily at 09:00 UTC; next 20" in run(tmp_path, "check").stdout
    bad = run(tmp_path, "check", DIGEST_TIME="9am")
    assert bad.returncode == 2
    assert "DIGEST_TIME: '9am' is not a time" in bad.stderr


def test_the_same_session_on_postgresql(tmp_path: Path) -> None:
    """`postgresql://` works like SQLite: the CLI picks the async driver itself."""
    import asyncio

    import asyncpg
    from sqlalchemy import make_url

    from tests.conftest import IN_CI, POSTGRES_URL

    url = make_url(POSTGRES_URL)
    own = url.set(database="supportbot_e2e")

    async def recreate() -> None:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        try:
            await conn.execute("DROP DATABASE IF EXISTS supportbot_e2e WITH (FORCE)")
            await conn.execute("CREATE DATABASE supportbot_e2e")
        finally:
            await conn.close()

    try:
        asyncio.run(recreate())
    except OSError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    database_url = own.render_as_string(hide_password=False)
    result = run(tmp_path, "run", stdin=SESSION, DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "[staff #1] The customer rated this ticket 5/5." in result.stdout
    shown = run(tmp_path, "tickets", "show", "#1", DATABASE_URL=database_url)
    assert "carol closed the ticket: plan corrected (less than a minute after" in shown.stdout


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SLACK_BOT_TOKEN": "not-a-token"}, "SLACK_BOT_TOKEN: must be a bot token"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET: set it for HTTP mode"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_STAFF_CHANNEL"),
    ],
)
def test_slack_settings_are_checked_before_anything_starts(
    tmp_path: Path, env: dict[str, str], words: str
) -> None:
    result = run(tmp_path, "run", **env)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert "xoxb-1" not in result.stderr


def test_slack_manifest_lists_what_the_adapter_needs(tmp_path: Path) -> None:
    manifest = run(tmp_path, "slack", "manifest").stdout
    for needed in (
        "command: /ticket",
        "callback_id: create_ticket",
        "message.im",
        "app_mention",
        "chat:write",
        "reactions:write",
        "im:history",
    ):
        assert needed in manifest


def test_discord_invite_url_carries_the_bot_id_and_permissions(tmp_path: Path) -> None:
    import base64

    token = base64.b64encode(b"123456789012345678").decode().rstrip("=") + ".x.y"
    result = run(tmp_path, "discord", "invite-url", DISCORD_BOT_TOKEN=token)
    assert result.returncode == 0
    url = result.stdout.strip()
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=123456789012345678")
    assert "scope=bot+applications.commands" in url
    permissions = int(url.rsplit("permissions=", 1)[1])
    for bit in (4, 6, 10, 11, 14, 16, 34, 35, 38):
        assert permissions & (1 << bit)
    assert permissions & (1 << 3) == 0  # never Administrator
    missing = run(tmp_path, "discord", "invite-url")
    assert missing.returncode == 2
    assert "DISCORD_BOT_TOKEN" in missing.stderr


@contextmanager
def shell_bot(tmp_path: Path, stdout: int = subprocess.DEVNULL) -> Iterator[subprocess.Popen[str]]:
    """`supportbot run` on the shell adapter and desk.db in `tmp_path`, started, and kept
    running until the block ends (its stdin stays open: the shell waits for its next line);
    then `:quit` ends it."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "DATABASE_URL"))
    }
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'desk.db'}"
    bot = subprocess.Popen(
        [SUPPORTBOT, "run"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=stdout,
        text=True,
        cwd=tmp_path,
        env=environment,
    )
    try:
        assert bot.stderr is not None
        while "started adapters" not in (line := bot.stderr.readline()):
            assert line, "the bot ended before it started"
        # read on: a bot that logs much must never stop on a full pipe
        threading.Thread(target=bot.stderr.read, daemon=True).start()
        yield bot
    finally:
        bot.communicate(":quit\n", timeout=30)


def line_starting(stream: IO[str], prefix: str, seconds: float = 30) -> str:
    """The first line of `stream` that starts with `prefix`; fails the test when none has
    come within `seconds` (a stuck process must not hang the suite)."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        while line := stream.readline():
            if line.startswith(prefix):
                found.put(line)
                return
        found.put("")

    threading.Thread(target=read, daemon=True).start()
    try:
        line = found.get(timeout=seconds)
    except queue.Empty:
        raise AssertionError(f"no line starting {prefix!r} within {seconds:g} s") from None
    assert line, f"the output ended before a line starting {prefix!r}"
    return line


def test_a_second_run_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    with shell_bot(tmp_path) as first:
        second = run(tmp_path, "run", stdin="alice> hello\n")
        assert second.returncode == 1
        assert f"another supportbot run (pid {first.pid}) is already using desk.db" in (
            second.stderr
        )
        assert "use PostgreSQL" in second.stderr
        assert "Traceback" not in second.stderr
        assert run(tmp_path, "tick").returncode == 0  # beside a running bot, as the README says
    assert first.returncode == 0
    again = run(tmp_path, "run", stdin="alice> hello again\n")  # the lock went with the first
    assert again.returncode == 0, again.stderr


def test_the_readme_example_is_what_a_real_run_prints(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    example = re.search(r"```text\n\$ printf '(.+?)' \| \./dev run\n(.*?)```", readme, re.DOTALL)
    assert example is not None, "the README's shell example is gone"
    lines, shown = example.groups()
    result = run(tmp_path, "run", stdin=lines.replace("\\n", "\n"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown
