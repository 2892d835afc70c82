"""Pacing on the test's clock, so that no test sleeps for a platform's rate limit."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

from bot.clock import FrozenClock
from bot.delivery.pacing import PaceTime


class FollowClock(PaceTime):
    """The pacer's seconds are the test's clock, which only the test moves: a route that
    must wait goes when the clock has moved far enough and the sender drains again."""

    passes = False

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self._start = clock.now()

    def monotonic(self) -> float:
        # seconds since this began, not since 1970: small enough to tell microseconds apart
        return (self.clock.now() - self._start).total_seconds()

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.Event().wait()  # woken only by Pacer.catch_up, when the clock moved


class RunningClock(FollowClock):
    """Time passes whenever a route waits: the wait moves the clock instead of sleeping,
    so a test sees the platform's rate as time passing, not as a slow test."""

    passes = True

    async def sleep_until(self, deadline: float) -> None:
        ahead = deadline - self.monotonic()
        if ahead > 0:  # whole microseconds, rounded up: the clock must reach the deadline
            self.clock.advance(timedelta(microseconds=math.ceil(ahead * 1e6)))
        await asyncio.sleep(0)

    async def sleep(self, seconds: float) -> None:
        """A latency on the same clock (for a fake platform's answers)."""
        await self.sleep_until(self.monotonic() + seconds)
