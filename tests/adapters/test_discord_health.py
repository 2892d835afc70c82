"""Readiness with Discord: ready while the gateway is connected (again, after a resume),
unready once it is gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app.health import Health
from bot.clock import FrozenClock
from bot.scheduling.engine import DeskScheduler
from tests.adapters.fake_discord import running_fake_discord
from tests.adapters.test_discord import connected


async def test_ready_follows_the_gateway(tmp_path: Path) -> None:
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        clock = FrozenClock()
        desk.app.scheduler = DeskScheduler(desk.app.runner, desk.app.desk.settings, 15, clock)
        health = Health(desk.app, [desk.adapter], clock, ["discord"])
        found = await health.readiness()
        assert found.ready, found.checks
        assert found.checks["discord"] == "ok"
        resumed = asyncio.ensure_future(desk.adapter.client.wait_for("resumed", timeout=10))
        await fake.drop_connection()  # discord.py resumes: ready again once it has
        await resumed
        assert (await health.readiness()).checks["discord"] == "ok"
        await desk.adapter.client.close()  # the gateway gone for good
        gone = await health.readiness()
        assert not gone.ready
        assert gone.checks["discord"] == "not connected"
