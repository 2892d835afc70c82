"""APScheduler drives the tick (every few seconds) and the digest's cron trigger; what is
due lives in the database, so the scheduler itself keeps no state worth losing."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

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
        # the ticks under way: the interval's and the digest's cron may overlap
        self._ticking: set[asyncio.Task[Any]] = set()
        self._stopping = False
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

    async def stop(self) -> None:
        """No new tick starts; those under way are cancelled (a reminder's transaction rolls
        back, so the reminder fires at the next start) and have ended when this returns, before
        the database they use is closed."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.pause()  # no tick starts from now on
            await asyncio.sleep(0)  # one just handed to the loop starts, to be cancelled below
        if self._ticking:
            for task in self._ticking:
                task.cancel()
            await asyncio.wait(self._ticking)
        if self.scheduler.running:
            # with no tick left to cancel: APScheduler logs a job it cancels as a failure
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down at the loop's next turn

    async def _tick(self) -> None:
        task = asyncio.current_task()
        assert task is not None  # APScheduler runs a coroutine job as a task
        self._ticking.add(task)
        try:
            await self.runner.fire_due()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # a stop, not a failure: APScheduler would log this cancellation as a traceback
            log.info("stopped during a tick; what it had not finished fires at the next start")
        except Exception:  # the database may be away; the next tick tries again
            log.exception("firing due reminders failed; trying again at the next tick")
        else:
            self.tick.done(self.clock.now())
        finally:
            self._ticking.discard(task)
