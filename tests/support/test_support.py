"""The crash-test helpers themselves: the TCP proxy, the process harness, fresh databases."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from tests.conftest import IN_CI
from tests.support import bot_process
from tests.support.bot_process import BotProcess, base_env
from tests.support.pg import (
    database_url,
    drop_database,
    fresh_database,
    postgres_available,
    temporary_database,
    with_port,
)
from tests.support.tcp_proxy import running_proxy

PG_HOST, PG_PORT = "127.0.0.1", 5432
# What a client may see when its connection is cut under it, or refused.
CUT_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


@pytest.fixture
async def postgres() -> None:
    reason = await postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
async def proxied_url(postgres: None) -> AsyncIterator[str]:
    async with temporary_database("support_proxy") as url:
        yield url


def _other_tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


# -- TcpProxy against PostgreSQL ---------------------------------------------------------


async def test_cut_breaks_queries_quickly_and_restore_lets_new_connections_in(
    proxied_url: str,
) -> None:
    before = _other_tasks()
    async with running_proxy(PG_HOST, PG_PORT) as proxy:
        url = with_port(proxied_url, proxy.port)
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT 1") == 1
            assert proxy.connections == 1

            await proxy.cut()
            assert proxy.connections == 0
            async with asyncio.timeout(2):
                with pytest.raises(CUT_ERRORS):
                    await conn.fetchval("SELECT 2")
                with pytest.raises(CUT_ERRORS):  # refused while cut
                    await asyncpg.connect(url, timeout=2)
            assert proxy.connections == 0
        finally:
            await conn.close(timeout=2)

        proxy.restore()
        again = await asyncpg.connect(url)
        try:
            assert await again.fetchval("SELECT 3") == 3
            assert proxy.connections == 1
        finally:
            await again.close()
        await proxy.wait_for_connections(0)
    assert _other_tasks() == before


async def test_cut_with_reset(proxied_url: str) -> None:
    async with running_proxy(PG_HOST, PG_PORT) as proxy:
        conn = await asyncpg.connect(with_port(proxied_url, proxy.port))
        try:
            await proxy.cut(reset=True)
            async with asyncio.timeout(2):
                with pytest.raises(CUT_ERRORS):
                    await conn.fetchval("SELECT 1")
        finally:
            await conn.close(timeout=2)


async def test_stall_hangs_queries_and_restore_lets_them_finish(proxied_url: str) -> None:
    before = _other_tasks()
    async with running_proxy(PG_HOST, PG_PORT) as proxy:
        conn = await asyncpg.connect(with_port(proxied_url, proxy.port))
        try:
            proxy.stall()
            query = asyncio.ensure_future(conn.fetchval("SELECT 42"))
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await asyncio.shield(query)
            assert not query.done()
            assert proxy.connections == 1  # stalled, not closed

            proxy.restore()
            async with asyncio.timeout(5):
                assert await query == 42
        finally:
            await conn.close(timeout=2)
    assert _other_tasks() == before


async def test_leaving_the_context_closes_open_connections(proxied_url: str) -> None:
    before = _other_tasks()
    async with running_proxy(PG_HOST, PG_PORT) as proxy:
        conns = [await asyncpg.connect(with_port(proxied_url, proxy.port)) for _ in range(3)]
        assert proxy.connections == 3
        proxy.stall()  # even hung ones
    try:
        async with asyncio.timeout(2):
            for conn in conns:
                with pytest.raises(CUT_ERRORS):
                    await conn.fetchval("SELECT 1")
    finally:
        for conn in conns:
            await conn.close(timeout=2)
    assert _other_tasks() == before


# -- TcpProxy against a plain echo server ------------------------------------------------


async def test_forwards_large_transfers_both_ways() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    payload = os.urandom(8 * 1024 * 1024)  # far beyond socket buffers: exercises backpressure
    try:
        async with running_proxy("127.0.0.1", port) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)

            async def send() -> None:
                writer.write(payload)
                await writer.drain()
                writer.write_eof()  # half-close travels through the proxy

            async with asyncio.timeout(20):
                sender = asyncio.create_task(send())
                received = await reader.read(-1)  # until the echo server closes
                await sender
            assert received == payload
            writer.close()
            await proxy.wait_for_connections(0)
    finally:
        server.close()
        await server.wait_closed()


async def test_target_down_closes_the_client_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]  # nothing listens here once closed
    async with running_proxy("127.0.0.1", dead_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        try:
            async with asyncio.timeout(2):
                try:
                    data = await reader.read(1)
                except ConnectionError:
                    data = b""
                assert data == b"", "the proxy must close the client's connection"
        finally:
            writer.close()
        await proxy.wait_for_connections(0)


# -- fresh databases -----------------------------------------------------------------------


async def test_fresh_database_is_empty_and_dropped(postgres: None) -> None:
    url = await fresh_database("Support Test!")
    name = url.rsplit("/", 1)[1]
    try:
        assert name.startswith("support_test_")
        assert url == database_url(name)
        conn = await asyncpg.connect(url)
        try:
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            )
            assert tables == 0
        finally:
            await conn.close()
        # a leftover session (a killed bot's) does not stop the drop
        leftover = await asyncpg.connect(url)
    finally:
        await drop_database(name)
    await leftover.close(timeout=2)
    admin = await asyncpg.connect(database_url("test"))
    try:
        assert not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()


# -- BotProcess ------------------------------------------------------------------------------


def _script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


READY_THEN_SLEEP = _script(
    """
    import sys, time
    print("started adapters: fake", file=sys.stderr, flush=True)
    time.sleep(60)
    """
)


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)  # psutil is untyped
    except psutil.NoSuchProcess:
        return True


def test_base_env_drops_platform_and_database_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN", "SUPPORTBOT_X", "DATABASE_URL"):
        monkeypatch.setenv(key, "secret")
    monkeypatch.setenv("KEEP_ME", "1")
    env = base_env({"DATABASE_URL": "sqlite:///x.db", "SLACK_BOT_TOKEN": "xoxb-test"})
    assert env["KEEP_ME"] == "1"
    assert env["DATABASE_URL"] == "sqlite:///x.db"
    assert env["SLACK_BOT_TOKEN"] == "xoxb-test"
    assert "DISCORD_TOKEN" not in env
    assert "SUPPORTBOT_X" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_default_argv_is_supportbot_run(tmp_path: Path) -> None:
    bot = BotProcess(base_env(), tmp_path)
    assert bot.argv == [str(Path(sys.executable).with_name("supportbot")), "run"]
    assert Path(bot.argv[0]).exists()


async def test_start_then_kill(tmp_path: Path) -> None:
    async with BotProcess(base_env(), tmp_path, argv=READY_THEN_SLEEP) as bot:
        line = await bot.start()
        assert line == "started adapters: fake\n"
        assert bot.running
        assert not _gone(bot.pid)
        assert bot.pid in bot_process._LIVE
        assert await bot.kill() == -signal.SIGKILL
        assert not bot.running
        assert _gone(bot.pid)
        assert bot.pid not in bot_process._LIVE
        assert await bot.kill() == -signal.SIGKILL  # again: harmless
    assert "started adapters: fake" in bot.stderr_text()


async def test_stop_sends_sigterm_and_returns_the_exit_code(tmp_path: Path) -> None:
    argv = _script(
        """
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("hello on stdout", flush=True)
        print("started adapters: fake", file=sys.stderr, flush=True)
        time.sleep(60)
        """
    )
    async with BotProcess(base_env(), tmp_path, argv=argv) as bot:
        await bot.start(timeout=30)
        assert await bot.stop(timeout=30) == 0
        assert bot.pid not in bot_process._LIVE
    assert bot.stdout_text() == "hello on stdout\n"


async def test_context_exit_kills_on_failure(tmp_path: Path) -> None:
    started: list[BotProcess] = []

    async def failing_test() -> None:
        async with BotProcess(base_env(), tmp_path, argv=READY_THEN_SLEEP) as bot:
            await bot.start()
            started.append(bot)
            raise RuntimeError("test failed")

    with pytest.raises(RuntimeError, match="test failed"):
        await failing_test()
    [bot] = started
    pid = bot.pid
    assert bot.returncode == -signal.SIGKILL
    assert _gone(pid)
    assert pid not in bot_process._LIVE


async def test_start_reports_an_early_exit_with_its_stderr(tmp_path: Path) -> None:
    argv = _script("import sys; print('boom: bad config', file=sys.stderr); sys.exit(3)")
    async with BotProcess(base_env(), tmp_path, argv=argv) as bot:
        with pytest.raises(AssertionError, match="boom: bad config"):
            await bot.start()
    assert bot.returncode == 3


async def test_start_timeout_kills_the_process(tmp_path: Path) -> None:
    argv = _script("import time; time.sleep(60)")
    bot = BotProcess(base_env(), tmp_path, argv=argv)
    with pytest.raises(TimeoutError):
        await bot.start(timeout=0.5)
    assert bot.returncode == -signal.SIGKILL
    assert _gone(bot.pid)


async def test_a_chatty_process_never_blocks_on_its_pipes(tmp_path: Path) -> None:
    argv = _script(
        """
        import sys, time
        for i in range(20000):  # ~1.6 MB each way, far past a pipe's 64 KiB
            print(f"stdout line {i:06d} " + "x" * 60)
            print(f"stderr line {i:06d} " + "y" * 60, file=sys.stderr)
        sys.stdout.flush()
        print("started adapters: fake", file=sys.stderr, flush=True)
        print("x" * (2 << 20), file=sys.stderr, flush=True)  # over the line limit
        print("after the long line", file=sys.stderr, flush=True)
        time.sleep(60)
        """
    )
    async with BotProcess(base_env(), tmp_path, argv=argv) as bot:
        await bot.start()
        await bot.wait_for_line("after the long line", timeout=30)
        assert len(bot.stdout_lines) == 20000
    assert len(bot.stderr_lines) >= 20002


async def test_wait_returns_the_exit_code_of_a_process_that_ends(tmp_path: Path) -> None:
    argv = _script("import sys; print('started adapters', file=sys.stderr, flush=True)")
    async with BotProcess(base_env(), tmp_path, argv=argv) as bot:
        await bot.start()
        assert await bot.wait(timeout=30) == 0
    with pytest.raises(RuntimeError, match="runs once"):
        await bot.start()


async def test_atexit_hook_kills_what_is_left(tmp_path: Path) -> None:
    bot = BotProcess(base_env(), tmp_path, argv=READY_THEN_SLEEP)
    try:
        await bot.start()
        bot_process._kill_leftovers()
        assert await asyncio.wait_for(bot._proc.wait(), 10) == -signal.SIGKILL  # type: ignore[union-attr]
    finally:
        await bot.kill()


@pytest.mark.parametrize("how", ["normal exit", "os._exit"])
def test_no_process_outlives_the_test_process(tmp_path: Path, how: str) -> None:
    """A harness left running when pytest ends: atexit kills it; if pytest dies without
    running atexit hooks, the kernel does (Linux)."""
    if how == "os._exit" and not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    ending = "os._exit(0)" if how == "os._exit" else "pass"
    code = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from pathlib import Path
        from tests.support.bot_process import BotProcess, base_env

        async def main():
            bot = BotProcess(base_env(), Path({str(tmp_path)!r}), argv={READY_THEN_SLEEP!r})
            await bot.start()
            print(bot.pid, flush=True)
            {ending}

        asyncio.run(main())
        """
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[0])
    try:
        psutil.Process(pid).wait(timeout=10)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"child {pid} outlived its harness ({how})")
    assert _gone(pid)
