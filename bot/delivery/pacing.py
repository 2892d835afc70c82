"""Pacing: each platform route is used at the rate the platform allows, known ahead.

A route is what a platform counts a rate limit by (Slack: `chat.postMessage` into one
channel; Discord: one channel's messages). Calls on one route go one at a time, oldest
message first, and, where the route has a rate, only when its token bucket has a token.
A message waiting for its route holds no sending slot, so a full staff channel never holds
up a customer's acknowledgement in their own DM. A `Retry-After` closes the route for that
long: the platform knows best.

Several processes sharing a database (PostgreSQL) also share the platform's limits: a staff
channel allows one post a second whoever posts. Routes marked `shared` therefore also take a
turn from the database's ledger (`SharedRates`) once their local turn comes, and wait what
it says; a Retry-After is written there too. Routes one conversation owns (a customer's DM)
stay local: their messages go from one process at a time already, and an acknowledgement
should not wait for a database round trip.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("bot.outbox")

# a wait shorter than this is rounding, not pacing: waiting it could spin on a clock that
# cannot tell such instants apart
_NEAR_ENOUGH = 0.001
LEDGER_RETRY = 10.0  # seconds of pacing alone before a ledger that failed is asked again


@dataclass(frozen=True)
class Route:
    """Where a message's call goes, as the platform counts its limit. Without a rate, the
    platform library paces the route itself (discord.py's buckets); we only keep one call
    at a time on it, so its waits take one sending slot, not all of them."""

    key: str
    per_second: float | None = None
    burst: int = 1
    serial: bool = True  # one call at a time (else only the rate counts)
    shared: bool = False  # other processes use it too: paced through SharedRates as well


class SharedRates(Protocol):
    """A ledger of routes' turns that every process on the database shares."""

    async def reserve(self, key: str, per_second: float, burst: int) -> float:
        """Take the route's next turn; returns seconds until it comes (0: now)."""
        ...

    async def hold(self, key: str, seconds: float, burst: int, per_second: float) -> None:
        """The platform said Retry-After: no process's turn comes before then."""
        ...


class PaceTime:
    """Seconds for the pacer; tests replace it with a clock they move."""

    passes = True  # time goes on by itself: a waiting route opens without anyone's help

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self.monotonic()))


@dataclass
class _Lane:
    route: Route
    tokens: float
    stamp: float
    waiting: list[tuple[int, int, asyncio.Future[bool]]] = field(default_factory=list)
    busy: bool = False
    closed_until: float = 0.0
    pump: asyncio.Task[None] | None = None


class Pacer:
    def __init__(
        self, time_source: PaceTime | None = None, shared: SharedRates | None = None
    ) -> None:
        self.time = time_source or PaceTime()
        self.shared = shared  # set when other processes share the platform's limits
        self._lanes: dict[str, _Lane] = {}
        self._holding: set[asyncio.Task[None]] = set()  # Retry-Afters being written
        self._ledger_back_at: float | None = None  # the ledger failed: ask it again then
        self._order = itertools.count()
        self.waits = 0  # how many calls waited for their route (for the operator's figures)
        self.parked = 0  # calls waiting for their turn now

    def catch_up(self) -> None:
        """Grant now what the time source says is due, without waiting for a sleeping lane to
        wake (for time sources that a test moves)."""
        for lane in list(self._lanes.values()):
            if lane.pump is not None and not lane.busy and self._wait(lane.route, lane) <= 0:
                lane.pump.cancel()
                lane.pump = None
                self._grant(lane.route, lane)

    @asynccontextmanager
    async def turn(self, route: Route | None, priority: int = 0) -> AsyncIterator[None]:
        """Hold `route` for one call; lower `priority` (an outbox id: older) goes first."""
        if route is None:
            yield
            return
        lane = self._lane(route)
        # the turn's result: whether the local bucket counted it (else the ledger is to)
        granted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        heapq.heappush(lane.waiting, (priority, next(self._order), granted))
        self.parked += 1
        self._kick(route, lane)
        try:
            counted = await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._done(route, lane)  # granted as we were cancelled: pass it on
            else:
                self.parked -= 1
                granted.cancel()
            raise
        if not route.serial:
            try:
                await self._shared_turn(route, lane, counted)
            finally:
                self._done(route, lane)
            yield
            return
        try:
            await self._shared_turn(route, lane, counted)
            yield
        finally:
            self._done(route, lane)

    def _ledger_paces(self, route: Route) -> bool:
        return self.shared is not None and route.shared and self._ledger_back_at is None

    async def _shared_turn(self, route: Route, lane: _Lane, counted: bool) -> None:
        """Wait for the route's turn among every process, when others use it too. A ledger
        that fails (or does not answer in time) leaves the process to pace alone for a
        while: the local bucket still holds, and a 429 would say the rest."""
        if self.shared is None or not route.shared or route.per_second is None:
            return
        if self._ledger_back_at is not None and self.time.monotonic() < self._ledger_back_at:
            return
        try:
            wait = await self.shared.reserve(route.key, route.per_second, route.burst)
        except Exception as error:
            if self._ledger_back_at is None:
                log.warning("pacing: the shared ledger is unavailable (%s); pacing alone", error)
            self._ledger_back_at = self.time.monotonic() + LEDGER_RETRY
            if not counted:  # granted as the ledger's: the local bucket counts it after all
                lane.tokens -= 1.0
            return
        if self._ledger_back_at is not None:
            log.info("pacing: the shared ledger answers again")
            self._ledger_back_at = None
        if wait >= _NEAR_ENOUGH:
            self.waits += 1
            await self.time.sleep_until(self.time.monotonic() + wait)

    def hold(self, route: Route | None, seconds: float) -> None:
        """The platform said Retry-After: nothing goes on this route until then."""
        if route is None:
            return
        lane = self._lane(route)
        lane.closed_until = max(lane.closed_until, self.time.monotonic() + seconds)
        lane.tokens = 0.0
        if self.shared is not None and route.shared and route.per_second is not None:
            task = asyncio.create_task(self._hold_shared(route, seconds))
            self._holding.add(task)
            task.add_done_callback(self._holding.discard)

    async def _hold_shared(self, route: Route, seconds: float) -> None:
        assert self.shared is not None
        assert route.per_second is not None
        try:
            await self.shared.hold(route.key, seconds, route.burst, route.per_second)
        except Exception as error:  # this process holds the route still; others learn by 429
            log.warning("pacing: could not share a Retry-After for %s: %s", route.key, error)

    def _lane(self, route: Route) -> _Lane:
        lane = self._lanes.get(route.key)
        if lane is None:
            if len(self._lanes) > 10_000:
                self._forget_idle()
            lane = self._lanes[route.key] = _Lane(route, float(route.burst), self.time.monotonic())
        return lane

    def _forget_idle(self) -> None:
        """Lanes of one-off channels (a DM each) would pile up; an idle lane holds nothing
        that a new one would not (its bucket refills long before anyone comes back)."""
        now = self.time.monotonic()
        for key, lane in list(self._lanes.items()):
            if not lane.busy and not lane.waiting and lane.closed_until <= now:
                del self._lanes[key]

    def _done(self, route: Route, lane: _Lane) -> None:
        lane.busy = False
        self._kick(route, lane)

    def _kick(self, route: Route, lane: _Lane) -> None:
        if lane.busy or lane.pump is not None or not lane.waiting:
            return
        wait = self._wait(route, lane)
        if wait <= 0:
            self._grant(route, lane)
            return
        lane.pump = asyncio.create_task(self._pump(route, lane, wait))

    async def _pump(self, route: Route, lane: _Lane, wait: float) -> None:
        try:
            while wait > 0:
                self.waits += 1
                await self.time.sleep_until(self.time.monotonic() + wait)
                wait = self._wait(route, lane)
        finally:
            lane.pump = None
        if not lane.busy and lane.waiting:
            self._grant(route, lane)

    def _wait(self, route: Route, lane: _Lane) -> float:
        """Seconds until the route may take the next call."""
        now = self.time.monotonic()
        if lane.closed_until > now:
            return lane.closed_until - now
        if route.per_second is None:
            return 0.0
        lane.tokens = min(float(route.burst), lane.tokens + (now - lane.stamp) * route.per_second)
        lane.stamp = now
        if self._ledger_paces(route):
            return 0.0  # the ledger's bucket is the one: two would each add their delays
        wait = (1.0 - lane.tokens) / route.per_second
        return 0.0 if wait < _NEAR_ENOUGH else wait

    def _grant(self, route: Route, lane: _Lane) -> None:
        while lane.waiting:
            _, _, granted = heapq.heappop(lane.waiting)
            if granted.cancelled():
                continue
            counted = route.per_second is not None and not self._ledger_paces(route)
            if counted:
                lane.tokens -= 1.0
            lane.busy = True
            self.parked -= 1
            granted.set_result(counted)
            return
