"""The real `supportbot` command where an operator first trips: every configuration problem
named in one run with exit status 2, database URLs as hosted PostgreSQL services write them,
platforms that do not answer, `check` trying what is configured, and output cut short by a
pipe. Unreachable hosts are closed ports on 127.0.0.1; nothing here leaves the machine."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import pytest

from tests.adapters.fake_discord import bot_env, running_fake_discord
from tests.adapters.fake_slack import running_fake_slack
from tests.support.bot_process import SUPPORTBOT, base_env


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    # no proxy from the machine running the tests: each test says where requests go
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    values = {k: v for k, v in base_env().items() if k.lower() not in proxies}
    return values | {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}"} | env


def supportbot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SUPPORTBOT, *args],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        timeout=60,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("supportbot: ")]


MANY_PROBLEMS = {
    "SUPPORTBOT_LOCALE": "fr",
    "SUPPORTBOT_TIMEZONE": "Mars/Olympus",
    "DIGEST_TIME": "9am",
    "SLACK_BOT_TOKEN": "xoxb-1",  # neither a signing secret nor an app token, no channel
    "DISCORD_BOT_TOKEN": "token-1",
    "DISCORD_GUILD_ID": "my server",
    "DISCORD_STAFF_CHANNEL": "123",
    "DISCORD_STAFF_ROLE": "456",
}


def test_every_configuration_problem_is_named_in_one_run(tmp_path: Path) -> None:
    check = supportbot(tmp_path, "check", **MANY_PROBLEMS)
    assert check.returncode == 2
    named = [line.split(": ")[2] for line in error_lines(check)]
    assert named == [
        "SUPPORTBOT_LOCALE",
        "SUPPORTBOT_TIMEZONE",
        "DIGEST_TIME",
        "SLACK_SIGNING_SECRET",
        "SLACK_STAFF_CHANNEL",
        "DISCORD_GUILD_ID",
    ]
    assert all(line.startswith("supportbot: configuration error: ") for line in error_lines(check))
    assert "configuration: ok" not in check.stdout
    assert "configuration: 6 problems found" in check.stdout
    # what can be tried still is: the database, and no platform with broken settings
    assert "database: reachable at" in check.stdout
    assert "slack: not tried (its settings have problems)" in check.stdout
    assert "discord: not tried (its settings have problems)" in check.stdout
    assert "Traceback" not in check.stderr
    run = supportbot(tmp_path, "run", **MANY_PROBLEMS)
    assert run.returncode == 2
    assert run.stderr.splitlines() == error_lines(check)  # the same lines, and nothing else
    assert "token-1" not in check.stdout + check.stderr + run.stderr


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///", "'sqlite:///' names no file, so SQLite would keep the desk in memory"),
        ("sqlite://", "'sqlite://' names no file, so SQLite would keep the desk in memory"),
        ("mysql://root:s3cret-pw@localhost/desk", "'mysql' is not supported; use sqlite:///"),
        (
            "postgresql://postgres:s3cret-pw@127.0.0.1:5432/test?application_name=desk",
            "application_name cannot be set",
        ),
        (
            "postgresql://postgres:s3cret-pw@127.0.0.1:5432/test?sslcert=client.crt",
            (
                "the parameter sslcert is not one supportbot understands; it understands "
                "sslmode, sslrootcert and connect_timeout"
            ),
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/test?sslmode=verify-full&sslrootcert=none.crt",
            "sslrootcert='none.crt' cannot be read: No such file or directory",
        ),
    ],
)
def test_database_urls_that_cannot_work_are_configuration_errors(
    tmp_path: Path, url: str, words: str
) -> None:
    for command in ("run", "check", "tickets"):
        args = ["tickets", "list"] if command == "tickets" else [command]
        result = supportbot(tmp_path, *args, DATABASE_URL=url)
        assert result.returncode == 2, result.stderr
        assert f"supportbot: configuration error: DATABASE_URL: {words}" in result.stderr
        assert "Traceback" not in result.stderr
        assert "s3cret-pw" not in result.stderr + result.stdout
    assert not (tmp_path / "desk.db").exists()


def test_a_refused_postgresql_port_names_host_and_port(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql://postgres:s3cret-pw@127.0.0.1:{port}/test?connect_timeout=5"
    for command in ("run", "check"):
        result = supportbot(tmp_path, command, DATABASE_URL=url)
        assert result.returncode == 1
        [line] = error_lines(result)
        assert line.startswith("supportbot: database error: cannot use the database at ")
        assert f"nothing accepts connections at 127.0.0.1:{port} (connection refused)" in line
        assert "check that PostgreSQL runs on that host and listens on that port" in line
        assert "s3cret-pw" not in result.stderr


def test_libpq_parameters_reach_postgresql(tmp_path: Path) -> None:
    from sqlalchemy import make_url

    from tests.conftest import IN_CI, POSTGRES_URL

    server = make_url(POSTGRES_URL)
    try:
        socket.create_connection((server.host or "127.0.0.1", server.port or 5432), 2).close()
    except OSError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    for query in ("sslmode=prefer&connect_timeout=5", "sslmode=disable", "ssl=prefer"):
        result = supportbot(tmp_path, "check", DATABASE_URL=f"{POSTGRES_URL}{separator}{query}")
        assert result.returncode == 0, result.stderr
        assert "database: reachable at postgresql+asyncpg://" in result.stdout


def test_a_time_zone_in_any_case(tmp_path: Path) -> None:
    result = supportbot(tmp_path, "check", SUPPORTBOT_TIMEZONE="utc")
    assert result.returncode == 0, result.stderr
    assert "time zone UTC" in result.stdout


SOCKET_MODE = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_APP_TOKEN": "xapp-test-token",
    "SLACK_STAFF_CHANNEL": "CSTAFF0001",
}


def test_slack_unreachable_is_not_blamed_on_a_variable_nobody_set(tmp_path: Path) -> None:
    # Slack's own address, through a proxy that refuses: as a network failure looks
    proxy = f"http://127.0.0.1:{closed_port()}"
    result = supportbot(tmp_path, "run", HTTPS_PROXY=proxy, **SOCKET_MODE)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith("supportbot: cannot reach Slack at https://slack.com/api/: ")
    assert line.endswith(
        "check this machine's network connection, DNS and any proxy or firewall in between"
    )
    assert "SLACK_API_URL" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "xoxb-test-token" not in result.stderr


def test_discord_unreachable_is_one_line(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    env = {
        "DISCORD_BOT_TOKEN": "secret-discord-token",
        "DISCORD_GUILD_ID": "1",
        "DISCORD_STAFF_CHANNEL": "2",
        "DISCORD_STAFF_ROLE": "3",
        "DISCORD_API_URL": api,
    }
    result = supportbot(tmp_path, "run", **env)
    assert result.returncode == 2
    [line] = error_lines(result)
    assert line.startswith(
        f"supportbot: configuration error: DISCORD_API_URL: cannot reach Discord at {api}: "
    )
    assert line.endswith("check the address in DISCORD_API_URL")
    assert "Traceback" not in result.stderr
    assert "voice will NOT be supported" not in result.stderr
    assert "secret-discord-token" not in result.stderr


async def check_against(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        SUPPORTBOT,
        "check",
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_check_reaches_each_configured_platform(tmp_path: Path) -> None:
    async with running_fake_slack() as slack, running_fake_discord() as discord:
        env = SOCKET_MODE | {"SLACK_API_URL": slack.base_url + "api/"} | bot_env(discord)
        code, out, err = await check_against(tmp_path, env)
        assert code == 0, err
        assert "adapters: slack, discord" in out
        assert out.splitlines()[-1].startswith("configuration: ok (locale en, time zone UTC")
        assert "slack: reached as supportbot in Acme; Socket Mode" in out
        assert "discord: reached as " in out
        assert "; the gateway answered" in out
        assert discord.identifies == 0  # a check starts no gateway session
        assert discord.open_connections == 0
        assert [c.method for c in slack.calls] == ["auth.test"]

        slack.rejected_tokens.add("xoxb-test-token")
        code, out, err = await check_against(tmp_path, env)
        assert code == 2
        assert (
            "supportbot: configuration error: SLACK_BOT_TOKEN: Slack rejected the token "
            "(invalid_auth)"
        ) in err
        assert "discord: reached as " in out  # one platform's trouble stops no other's check
        assert "configuration: ok" not in out
        assert out.endswith("configuration: 1 problem found\n")
        assert "xoxb-test-token" not in out + err


async def test_check_says_which_platform_it_could_not_reach(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    async with running_fake_discord() as discord:
        env = SOCKET_MODE | {"SLACK_API_URL": f"{nowhere}/api/"} | bot_env(discord)
        env["DISCORD_GATEWAY_URL"] = nowhere.replace("http", "ws") + "/gateway/"
        code, out, err = await check_against(tmp_path, env)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("supportbot: ")]
    assert (
        f"supportbot: configuration error: SLACK_API_URL: cannot reach Slack at {nowhere}/api/"
        in lines[0]
    )
    assert "DISCORD_GATEWAY_URL: cannot reach the Discord gateway at ws://127.0.0.1:" in lines[1]
    assert len(lines) == 2
    assert "database: reachable" in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["check"], 141),  # as a program that SIGPIPE stopped
        (["slack", "manifest"], 141),
        (["tickets", "list"], 141),
        (["--help"], 0),  # argparse lets a help nobody reads go
    ],
)
def test_output_cut_short_by_a_pipe_ends_quietly(
    tmp_path: Path, args: list[str], code: int
) -> None:
    """`supportbot ... | head -1`: the reader is gone before the first line is written."""
    proc = subprocess.Popen(
        [SUPPORTBOT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        # buffered, as a pipe normally is: the broken pipe then shows at the last flush
        env={k: v for k, v in environment(tmp_path).items() if k != "PYTHONUNBUFFERED"},
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the only reader: every write from now on meets a broken pipe
    _, err = proc.communicate(timeout=60)
    for noise in ("Traceback", "BrokenPipeError", "Broken pipe", "Exception ignored"):
        assert noise not in err.decode()
    assert proc.returncode == code
