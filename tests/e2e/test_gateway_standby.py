"""Two real `supportbot run` processes with Discord on one PostgreSQL database: one holds the
gateway, the other stands by, `supportbot check` says which is which, and when the holder is
killed (-9) the standby connects within 30 s and takes customers in."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.fake_discord import FORUM, FakeDiscord, bot_env, running_fake_discord
from tests.support.bot_process import SUPPORTBOT, BotProcess, base_env
from tests.support.pg import required_database

TAKEOVER_WITHIN = 30.0  # seconds, as promised to operators


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with required_database("gateway") as url:
        yield url


def discord_env(fake: FakeDiscord, url: str) -> dict[str, str]:
    return base_env({"DATABASE_URL": url, **bot_env(fake)})


async def check(env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        SUPPORTBOT,
        "check",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def customer_writes(fake: FakeDiscord, n: int) -> None:
    """Customer `n` writes in a DM; the holder opens a ticket: a thread in the staff forum."""
    event = fake.message_event(10**8 + n, f"customer{n}", f"Order {n} is late", 10**9 + n)
    await fake.dispatch("MESSAGE_CREATE", event)
    await fake.wait_for("POST", f"channels/{FORUM}/threads", count=n, seconds=20)


async def test_the_gateway_moves_to_the_standby_when_its_holder_is_killed(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_fake_discord() as fake:
        env = discord_env(fake, pg_url)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        async with (
            BotProcess(env, tmp_path / "a") as holder,
            BotProcess(env, tmp_path / "b") as standby,
        ):
            started = await holder.start(timeout=45)
            assert "discord gateway: holder" in started
            started = await standby.start(timeout=45)
            assert "discord gateway: standby" in started
            host = socket.gethostname()
            assert f"held by {host}:{holder.pid}" in started
            assert fake.connections == [1]
            assert fake.open_connections == 1  # one gateway

            said = await check(env)
            assert "workers: 2 supportbot processes connected" in said, said
            assert f"{host}:{holder.pid} holds the Discord gateway" in said, said
            # the token is tried; the gateway is not opened again beside its holder's
            assert f"; {host}:{holder.pid} holds the gateway" in said, said
            assert fake.connections == [1]

            await customer_writes(fake, 1)
            fake.identified.clear()
            killed_at = time.monotonic()
            await holder.kill()
            await standby.wait_for_line("discord gateway: taking over", timeout=TAKEOVER_WITHIN)
            async with asyncio.timeout(TAKEOVER_WITHIN - (time.monotonic() - killed_at)):
                await fake.identified.wait()
            assert fake.connections == [1, 1]  # a new session, on a new connection
            await customer_writes(fake, 2)  # the new holder takes customers in

            said = await check(env)
            assert f"{host}:{standby.pid} holds the Discord gateway" in said, said
            assert await standby.stop() == 0
        assert "Traceback" not in standby.stderr_text()
