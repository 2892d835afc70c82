"""How responsive the event loop stays: a probe task that sleeps a short interval again and
again and records how late each wake-up comes, and another process that holds SQLite's write
lock, so that benchmarks and tests can watch the loop while the desk waits for the database.

    async with LagProbe() as probe:
        ...  # the work under observation
    print(probe.max, probe.p99, len(probe.samples))

A loop that nothing blocks wakes the probe within a millisecond or so (the selector's timeout
granularity); a statement run on the loop's own thread shows up as a wake-up as late as the
statement was long."""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

DEFAULT_INTERVAL = 0.010


@dataclass(frozen=True)
class LagStats:
    """Lag figures (seconds) of a run of wake-ups."""

    ticks: int
    max: float
    p99: float
    mean: float

    def describe(self) -> str:
        return f"max {self.max * 1000:.1f} ms, p99 {self.p99 * 1000:.1f} ms over {self.ticks} ticks"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction 0.99 for p99); 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def stats(samples: Sequence[float]) -> LagStats:
    if not samples:
        return LagStats(0, 0.0, 0.0, 0.0)
    return LagStats(
        len(samples), max(samples), percentile(samples, 0.99), sum(samples) / len(samples)
    )


class LagProbe:
    """A task ticking every `interval` seconds; each tick records its lag: how much later than
    asked the loop woke it (loop.time(), the clock asyncio schedules its timers by)."""

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("the probe's interval must be positive")
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def max(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)

    @property
    def ticks(self) -> int:
        return len(self.samples)

    def stats(self, start: int = 0, end: int | None = None) -> LagStats:
        """Figures of the ticks numbered start..end (as `ticks` read at two moments)."""
        return stats(self.samples[start:end])

    async def wait_ticks(self, count: int) -> None:
        """Return once the probe has recorded `count` more ticks than it had on the call:
        proof that the loop ran that many times meanwhile."""
        target = len(self.samples) + count
        if count <= 0:
            return
        if self._task is None or self._task.done():
            raise RuntimeError("the probe is not running")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        await waiter

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("a LagProbe runs once")
        self._task = asyncio.create_task(self._run(), name="loop-lag-probe")
        await asyncio.sleep(0)  # the first tick is scheduled before the observed work starts
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            # ours, unless whoever awaits us was cancelled too: then pass it on
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        for _, waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.interval
        while True:
            expected = loop.time() + interval
            await asyncio.sleep(interval)
            # the selector may wake a hair early (clock resolution): that is no lag
            self.samples.append(max(0.0, loop.time() - expected))
            if self._waiters:
                self._wake(len(self.samples))

    def _wake(self, ticks: int) -> None:
        waiting = []
        for target, waiter in self._waiters:
            if waiter.done():
                continue
            if ticks >= target:
                waiter.set_result(None)
            else:
                waiting.append((target, waiter))
        self._waiters = waiting


async def idle_floor(seconds: float, interval: float = DEFAULT_INTERVAL) -> LagStats:
    """The probe's figures on a loop with nothing else to do, for `seconds`."""
    async with LagProbe(interval) as probe:
        await asyncio.sleep(seconds)
    return probe.stats()


# the other process: takes the write lock, says "locked", holds it until a line arrives on
# its stdin (or stdin closes, or `hold` seconds pass), commits and says "committed"
_HOLDER = """
import select, sqlite3, sys
path, hold = sys.argv[1], float(sys.argv[2])
conn = sqlite3.connect(path, isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], hold)
conn.execute("COMMIT")
conn.close()
print("committed", flush=True)
"""


class WriteLockHolder:
    """Another process holding the write lock of the SQLite database at `path`, as
    `supportbot tick` or a second bot would: from entering the block until `release()` is
    called or `hold` seconds have passed, whichever comes first."""

    def __init__(self, path: str, hold: float = 30.0) -> None:
        self.path = path
        self.hold = hold
        self._process: asyncio.subprocess.Process | None = None
        self.released = False

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _HOLDER,
            self.path,
            str(self.hold),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            await self._expect(b"locked")
        except BaseException:
            await self._kill()
            raise
        return self

    async def release(self) -> None:
        """Tell the other process to commit; return once it has."""
        process = self._require()
        if self.released:
            return
        assert process.stdin is not None
        if process.returncode is None:
            process.stdin.write(b"commit\n")
            # it may have let go on its own (its hold elapsed) and left already
            with contextlib.suppress(ConnectionError):
                await process.stdin.drain()
        await self.wait_released()

    async def wait_released(self) -> None:
        """Return once the other process has committed (by being told or by its hold)."""
        if self.released:
            return
        await self._expect(b"committed")
        self.released = True
        await self._require().wait()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            await self._kill()
            return
        await self.release()

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("the lock holder has not started")
        return self._process

    async def _expect(self, word: bytes) -> None:
        process = self._require()
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=self.hold + 30)
        if line.strip() != word:
            raise RuntimeError(
                f"the lock holder said {line!r} instead of {word!r} "
                f"(exit code {await process.wait()})"
            )

    async def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
