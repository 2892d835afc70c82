"""APScheduler drives the tick: at start (so overdue work fires then), every few seconds, and
at DIGEST_TIME in the desk's time zone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.desk.digest import next_digest_at
from bot.scheduling.engine import DeskScheduler
from bot.settings import DeskSettings


class RecordingRunner:
    def __init__(self) -> None:
        self.started = False
        self.ticked = asyncio.Event()

    async def start(self) -> None:
        self.started = True

    async def fire_due(self) -> int:
        self.ticked.set()
        return 0


async def test_the_scheduler_fires_at_start_and_on_the_digest_cron() -> None:
    settings = DeskSettings(timezone="Asia/Tokyo", digest_time=time(8, 30))
    runner = RecordingRunner()
    desk_scheduler = DeskScheduler(runner, settings, tick_seconds=15)  # type: ignore[arg-type]
    await desk_scheduler.start()
    try:
        assert runner.started
        await asyncio.wait_for(runner.ticked.wait(), timeout=10)  # the start-up tick
        jobs = {job.id: job for job in desk_scheduler.scheduler.get_jobs()}
        assert jobs["tick"].trigger.interval == timedelta(seconds=15)
        cron = jobs["digest"].trigger
        assert str(cron.timezone) == "Asia/Tokyo"
        fields = {f.name: str(f) for f in cron.fields}
        assert (fields["hour"], fields["minute"]) == ("8", "30")
        upcoming = jobs["digest"].next_run_time.astimezone(ZoneInfo("Asia/Tokyo"))
        assert (upcoming.hour, upcoming.minute) == (8, 30)
    finally:
        await desk_scheduler.stop()


def test_next_digest_time_is_local_and_strictly_ahead() -> None:
    tokyo = DeskSettings(timezone="Asia/Tokyo", digest_time=time(9, 0))
    before = datetime(2026, 3, 3, 23, 59, tzinfo=UTC)  # 08:59 in Tokyo
    assert next_digest_at(before, tokyo) == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    at = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)  # exactly 09:00: the next one is tomorrow's
    assert next_digest_at(at, tokyo) == datetime(2026, 3, 5, 0, 0, tzinfo=UTC)
    berlin = DeskSettings(timezone="Europe/Berlin", digest_time=time(2, 30))
    spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # 02:30 does not exist on 29 March
    assert next_digest_at(spring, berlin) > spring
