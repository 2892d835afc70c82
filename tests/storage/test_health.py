"""Health and metrics as an operator's monitoring sees them: /metrics scraped over HTTP after
a scripted ticket life, each metric at the value the script makes; /readyz unready while the
database is away and ready again after. Time is the test's clock; nothing sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bot import commands as c
from bot.app.bootstrap import App, build
from bot.app.health import Health
from bot.clock import FrozenClock
from bot.config import load_config
from bot.delivery.pacing import Route
from bot.metrics import COUNTS
from bot.model import Audience, OutboundMessage, Person, Source, Ticket
from bot.ports import DeliveryError, DeliveryReceipt
from bot.scheduling.engine import DeskScheduler
from tests.support.pg import required_database, with_port
from tests.support.tcp_proxy import running_proxy
from tests.support.virtual_time import RunningClock

PLATFORM = "chat"
STAFF_ROUTE = Route("chat:staff", per_second=1.0, burst=1)


class ScriptedChat:
    """A platform whose answers the test decides: staff messages share one paced route, and
    `refuse` answers every call with a 429 (Retry-After) while set."""

    platform = PLATFORM
    has_leads_channel = False

    def __init__(self) -> None:
        self.sent = 0
        self.refused = 0
        self.staff_turns = 0
        self.refuse = False
        self.fail_kinds: set[str] = set()  # answered with a permanent error, once each

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        return STAFF_ROUTE if message.audience is Audience.STAFF else None

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        if message.audience is Audience.STAFF:
            self.staff_turns += 1
        if self.refuse:
            self.refused += 1
            raise DeliveryError("ratelimited", retry_after=30)
        if message.kind in self.fail_kinds:
            self.fail_kinds.discard(message.kind)
            raise DeliveryError("channel_not_found", permanent=True)
        self.sent += 1
        return DeliveryReceipt(f"m{self.sent}", "staff", f"t{message.ticket_id}")


def customer(name: str, event: str) -> tuple[c.RelayCustomerMessage, c.Caller]:
    person = Person(PLATFORM, name, name)
    command = c.RelayCustomerMessage(person, Source(PLATFORM, "W", f"D-{name}"), "I need help")
    return command, c.Caller(person, event_id=event)


AGENT = c.Caller(Person(PLATFORM, "bob", "bob"), is_staff=True)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[App, FrozenClock]]:
    clock = FrozenClock()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}", "SUPPORTBOT_TICK_SECONDS": "15"}
    app = await build(load_config(env, dotenv=None), {PLATFORM: ScriptedChat()}, clock=clock)
    # the pacer's own seconds: a wait moves them, not the desk's clock
    app.sender.pacer.time = RunningClock(FrozenClock())
    try:
        yield app, clock
    finally:
        await app.close()


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_metrics_after_a_ticket_life(desk: tuple[App, FrozenClock]) -> None:
    app, clock = desk
    chat = app.sender.deliverers[PLATFORM]
    assert isinstance(chat, ScriptedChat)
    COUNTS.reset()
    app.scheduler = DeskScheduler(app.runner, app.desk.settings, 15, clock)
    health = Health(app, [], clock, [PLATFORM])
    await health.start(0, "127.0.0.1", lag=False)
    try:
        # alice's ticket is answered in time and closed; Slack-style, her event comes twice
        assert (await app.desk.handle(*customer("alice", "E1"))).ticket_number == 1
        assert (await app.desk.handle(*customer("alice", "E1"))).already_handled
        await app.desk.handle(c.ClaimTicket(1), AGENT)
        await app.desk.handle(c.RelayAgentMessage(1, "Done, sorry!"), AGENT)
        chat.fail_kinds = {"csat"}  # the rating question finds the customer gone
        await app.desk.handle(c.CloseTicket("refunded", 1), AGENT)
        # carol's waits past her first-response target (4 hours, normal priority)
        assert (await app.desk.handle(*customer("carol", "E2"))).ticket_number == 2
        await app.sender.drain()
        clock.advance(timedelta(hours=5))
        await app.scheduler._tick()  # the breach (and the nudge before it) fire
        await app.sender.drain()
        # then the platform refuses everything: carol's next message waits in the outbox
        chat.refuse = True
        await app.desk.handle(*customer("carol", "E3"))
        await app.sender.drain()
        clock.advance(timedelta(seconds=90))  # 90 s waiting, and the tick 75 s late

        async def fake_sleep(seconds: float) -> None:
            now[0] += seconds + 0.25  # the loop woke the task 250 ms late

        now = [100.0]
        health.loop_lag.monotonic, health.loop_lag.sleep = lambda: now[0], fake_sleep
        assert await health.loop_lag.measure() == pytest.approx(0.25)

        url = f"http://127.0.0.1:{health.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/plain")
            body = await answer.text()
            metrics = scraped(body)
    finally:
        await health.stop()

    def value(name: str, **labels: str) -> float:
        return metrics[name, tuple(sorted(labels.items()))]

    on = {"platform": PLATFORM}
    assert value("supportbot_database_up") == 1
    assert value("supportbot_tickets_opened_total", **on) == 2
    assert value("supportbot_tickets_closed_total", **on) == 1
    assert value("supportbot_response_targets_total", outcome="met", **on) == 1
    assert value("supportbot_response_targets_total", outcome="breached", **on) == 1
    assert chat.refused >= 1
    assert value("supportbot_outbox_pending", **on) == chat.refused
    assert value("supportbot_outbox_oldest_pending_age_seconds", **on) == 90
    assert value("supportbot_deliveries_total", result="sent", **on) == chat.sent
    assert value("supportbot_deliveries_total", result="retry", **on) == chat.refused
    assert value("supportbot_deliveries_total", result="failed", **on) == 1
    assert value("supportbot_rate_limited_total", **on) == chat.refused
    # one paced route, a token a second, and time moving only while a call waits: every
    # staff call after the first waited once for its turn
    assert value("supportbot_rate_limit_waits_total", pacer="outbox") == chat.staff_turns - 1
    assert value("supportbot_inbound_deduplicated_total", **on) == 1
    assert value("supportbot_tick_lag_seconds") == 75
    assert value("supportbot_reminders_overdue_seconds") == 0  # the tick fired what was due
    assert value("supportbot_event_loop_lag_seconds_count") == 1
    assert value("supportbot_event_loop_lag_seconds_sum") == pytest.approx(0.25)


async def test_ready_goes_with_the_database_and_the_tick() -> None:
    """PostgreSQL behind a proxy the test cuts: the database goes away as on a network
    failure or a failover, and comes back."""
    async with required_database("health") as url:
        target = make_url(url)
        async with running_proxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
            clock = FrozenClock()
            env = {"DATABASE_URL": with_port(url, proxy.port), "SUPPORTBOT_TICK_SECONDS": "15"}
            app = await build(
                load_config(env, dotenv=None), {PLATFORM: ScriptedChat()}, clock=clock
            )
            health = Health(app, [], clock, [PLATFORM])
            await health.start(0, "127.0.0.1", lag=False)
            ready = f"http://127.0.0.1:{health.port}/readyz"
            try:
                async with aiohttp.ClientSession() as http:

                    async def readyz() -> tuple[int, dict[str, str]]:
                        async with http.get(ready) as answer:
                            return answer.status, (await answer.json())["checks"]

                    assert await readyz() == (503, {"database": "ok", "tick": "not started"})
                    app.scheduler = DeskScheduler(app.runner, app.desk.settings, 15, clock)
                    assert await readyz() == (200, {"database": "ok", "tick": "ok"})

                    await proxy.cut()
                    status, checks = await readyz()
                    assert status == 503
                    assert checks["database"].startswith("cannot use the database at")
                    async with http.get(f"http://127.0.0.1:{health.port}/healthz") as alive:
                        assert alive.status == 200  # alive all the same: no restart needed
                    async with http.get(f"http://127.0.0.1:{health.port}/metrics") as metrics:
                        figures = scraped(await metrics.text())  # the process's own still
                    assert figures["supportbot_database_up", ()] == 0
                    assert ("supportbot_tick_lag_seconds", ()) in figures
                    proxy.restore()
                    assert await readyz() == (200, {"database": "ok", "tick": "ok"})

                    clock.advance(timedelta(seconds=15 + 61))  # no tick for over a minute
                    assert await readyz() == (503, {"database": "ok", "tick": "behind by 61 s"})
                    await app.scheduler._tick()
                    assert await readyz() == (200, {"database": "ok", "tick": "ok"})
            finally:
                await health.stop()
                await app.close()
