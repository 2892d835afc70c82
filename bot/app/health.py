"""Health and metrics over HTTP: /healthz (the process answers), /readyz (the database
answers, every adapter is connected, the tick is on time) and Prometheus's /metrics.

They are served on SUPPORTBOT_HTTP_PORT, whichever adapters run; left unset, nothing listens,
unless Slack's HTTP mode does (on 3000 by default): then they share its port, beside
/slack/events. One port per process, so a load balancer's check and Slack's events agree on
which process is up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app.bootstrap import App
from bot.app.exporter import Exporter
from bot.clock import Clock
from bot.config import ConfigError, listening_port
from bot.delivery.pacing import Pacer
from storage.database_url import why_not
from storage.metrics import Closes, desk_figures

log = logging.getLogger("supportbot.health")

PING_SECONDS = 5.0  # a database slower than this to say SELECT 1 is not ready either
# the tick may run this late before the process is reported unready (a tick that fails,
# the database away, does not count as run)
TICK_BEHIND = timedelta(seconds=60)
LAG_INTERVAL = 0.5  # how often the event loop's lag is measured
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def http_port(env: Mapping[str, str]) -> int | None:
    """SUPPORTBOT_HTTP_PORT, or None when unset (0: any free port)."""
    value = env.get("SUPPORTBOT_HTTP_PORT", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 <= int(value) < 65536:
        raise ConfigError("SUPPORTBOT_HTTP_PORT", f"{value!r} is not a TCP port")
    return int(value)


class Adapter(Protocol):
    name: str


class LoopLag:
    """How late the event loop runs a task that asked to wake: a loop blocked by a
    synchronous call shows here, before Slack's 3-second acknowledgements miss."""

    def __init__(
        self,
        histogram: Histogram,
        *,
        interval: float = LAG_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.histogram = histogram
        self.interval = interval
        self.monotonic = monotonic
        self.sleep = sleep

    async def measure(self) -> float:
        start = self.monotonic()
        await self.sleep(self.interval)
        lag = max(self.monotonic() - start - self.interval, 0.0)
        self.histogram.observe(lag)
        return lag

    async def run(self) -> None:
        while True:
            await self.measure()


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # what was looked at -> "ok" or why not


class Health:
    def __init__(
        self, app: App, adapters: Sequence[Adapter], clock: Clock, platforms: Iterable[str]
    ) -> None:
        self.app = app
        self.adapters = list(adapters)
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.loop_lag = LoopLag(
            Histogram(
                "supportbot_event_loop_lag_seconds",
                "How late the event loop woke a task that asked to, in seconds",
                buckets=LAG_BUCKETS,
                registry=self.registry,
            )
        )
        pacers: dict[str, Sequence[Pacer]] = {"outbox": (app.sender.pacer,)}
        pacers |= {a.name: tuple(getattr(a, "pacers", ())) for a in self.adapters}
        self.exporter = Exporter(clock, sorted(set(platforms)), pacers, self._tick_lag)
        self.registry.register(self.exporter)
        # the desk's figures being read: scrapes that come meanwhile wait for the same read
        self._reading: asyncio.Future[Any] | None = None
        self._closes = Closes(clock.now)  # a running total, brought up to date at each scrape
        ProcessCollector(registry=self.registry)
        self._runner: web.AppRunner | None = None
        self._lag_task: asyncio.Task[None] | None = None
        self.port: int | None = None

    def _tick_lag(self) -> timedelta | None:
        scheduler = self.app.scheduler
        return None if scheduler is None else scheduler.tick.lag(self.clock.now())

    async def readiness(self) -> Readiness:
        checks = {"database": await self._database()}
        for adapter in self.adapters:
            connected = getattr(adapter, "connected", None)
            up = True if connected is None else await connected()
            checks[adapter.name] = "ok" if up else "not connected"
        lag = self._tick_lag()
        if lag is None:
            checks["tick"] = "not started"
        elif lag > TICK_BEHIND:
            checks["tick"] = f"behind by {lag.total_seconds():.0f} s"
        else:
            checks["tick"] = "ok"
        return Readiness(all(v == "ok" for v in checks.values()), checks)

    async def _database(self) -> str:
        database = self.app.database
        try:
            async with asyncio.timeout(PING_SECONDS):
                # a read-only snapshot: on SQLite it waits for no writer's lock
                await database.snapshot(lambda conn: conn.execute(text("SELECT 1")).scalar())
        except TimeoutError:
            return f"no answer in {PING_SECONDS:g} s"
        except (OSError, SQLAlchemyError) as error:  # the URL said has no password
            return (
                f"cannot use the database at {database.description}: {why_not(error, database.url)}"
            )
        return "ok"

    async def metrics_text(self) -> bytes:
        # one read at a time, never abandoned half way: a read given up on would go on
        # holding one of SQLite's worker threads while the next scrape started another
        if self._reading is None:
            self._reading = asyncio.ensure_future(desk_figures(self.app.database, self._closes))
            self._reading.add_done_callback(self._read)
        try:
            async with asyncio.timeout(PING_SECONDS * 2):
                self.exporter.figures = await asyncio.shield(self._reading)
        except (OSError, SQLAlchemyError, TimeoutError) as error:  # this process's still show
            log.warning("metrics: could not read the desk's figures: %s", error or "timed out")
            self.exporter.figures = None
        return generate_latest(self.registry)

    def _read(self, done: asyncio.Future[Any]) -> None:
        self._reading = None
        if not done.cancelled():
            done.exception()  # seen here: a scrape that timed out no longer waits for it

    def routes(self) -> list[web.RouteDef]:
        async def healthz(_: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        async def readyz(_: web.Request) -> web.Response:
            found = await self.readiness()
            body = {"ready": found.ready, "checks": found.checks}
            return web.json_response(body, status=200 if found.ready else 503)

        async def metrics(_: web.Request) -> web.Response:
            body = await self.metrics_text()
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        return [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
        ]

    async def start(self, port: int | None, host: str = "0.0.0.0", *, lag: bool = True) -> None:
        """Measure the loop's lag; listen on `port` unless an adapter serves the routes on its
        own (Slack's HTTP mode) or no port is set."""
        if lag:
            self._lag_task = asyncio.create_task(self.loop_lag.run())
        routes = self.routes()
        for adapter in self.adapters:
            serve: Callable[[list[web.RouteDef]], bool] | None = getattr(
                adapter, "serve_http", None
            )
            if serve is not None and serve(routes):
                log.info("health and metrics: on the %s adapter's port", adapter.name)
                return
        if port is None:
            return
        application = web.Application()
        application.router.add_routes(routes)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = listening_port(self._runner)
        log.info("health and metrics: serving /healthz, /readyz, /metrics on port %s", self.port)

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            await asyncio.gather(self._lag_task, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
