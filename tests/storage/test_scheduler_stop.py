"""Stopping the bot while a tick is under way (SIGTERM, Ctrl-C) ends the tick quietly: one
log line, no APScheduler or asyncio traceback, and the tick has ended before the database it
uses is closed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.app.bootstrap import build
from bot.clock import FrozenClock
from bot.config import load_config
from bot.scheduling.engine import DeskScheduler
from bot.scheduling.runner import ReminderRunner
from bot.settings import DeskSettings


class TickUnderWay(ReminderRunner):
    """A round of reminders that is still running when the app closes."""

    def __init__(self, runner: ReminderRunner) -> None:
        super().__init__(runner.desk)
        self.under_way = asyncio.Event()
        self.cancelled = False

    async def fire_due(self) -> int:
        self.under_way.set()
        try:
            await asyncio.Event().wait()  # never set: only a stop ends this round
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return 0


async def test_closing_during_a_tick_stops_it_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = load_config({"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}"}, dotenv=None)
    app = await build(config, {}, clock=FrozenClock())
    runner = TickUnderWay(app.runner)
    app.runner = runner
    try:
        await app.start_scheduler()  # the first tick starts at once
        async with asyncio.timeout(30):  # a guard for a broken scheduler, not a wait
            await runner.under_way.wait()
    finally:
        await app.close()
    assert runner.cancelled
    assert app.scheduler is not None
    assert not app.scheduler._ticking  # ended, not left running past close
    troubled = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert troubled == [], [r.getMessage() for r in troubled]
    assert "CancelledError" not in caplog.text
    assert "Traceback" not in caplog.text
    said = [r.getMessage() for r in caplog.records if r.name.startswith("bot.scheduling")]
    assert said == ["stopped during a tick; what it had not finished fires at the next start"]


class Idle(ReminderRunner):
    def __init__(self) -> None:
        self.rounds = 0

    async def start(self) -> None:
        pass

    async def fire_due(self) -> int:
        self.rounds += 1
        return 0


async def test_stopping_as_the_first_tick_is_handed_over_is_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stop right after the start finds the first tick queued or just begun."""
    caplog.set_level(logging.DEBUG)
    for _ in range(20):
        scheduler = DeskScheduler(Idle(), DeskSettings(), 15, FrozenClock())
        await scheduler.start()
        await scheduler.stop()
        assert not scheduler.scheduler.running
        assert not scheduler._ticking
    troubled = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert troubled == [], [r.getMessage() for r in troubled]
