"""APScheduler drives the tick (every few seconds) and the digest's cron trigger; what is
due lives in the database, so the scheduler itself keeps no state worth losing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, SystemClock
from bot.metrics import TickState
from bot.scheduling.runner import ReminderRunner
from bot.settings import DeskSettings

log = logging.getLogger(__name__)


class DeskScheduler:
    def __init__(
        self,
        runner: ReminderRunner,
        settings: DeskSettings,
        tick_seconds: float,
        clock: Clock | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock or SystemClock()
        # when the tick last went through: its lag is a metric and a readiness condition
        self.tick = TickState(timedelta(seconds=tick_seconds), self.clock.now())
        self.scheduler = AsyncIOScheduler(timezone=settings.timezone)
        # max_instances=1 + coalesce: a slow tick is never run twice at once or caught up
        self.scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=tick_seconds),
            id="tick",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(self.scheduler.timezone),  # overdue work fires at start
        )
        at = settings.digest_time
        self.scheduler.add_job(
            self._tick,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone),
            id="digest",
            max_instances=1,
            coalesce=True,
        )

    async def start(self) -> None:
        await self.runner.start()
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _tick(self) -> None:
        try:
            await self.runner.fire_due()
        except Exception:  # the database may be away; the next tick tries again
            log.exception("firing due reminders failed; trying again at the next tick")
        else:
            self.tick.done(self.clock.now())
