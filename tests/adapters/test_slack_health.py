"""Slack's HTTP mode and the health routes share one port (SUPPORTBOT_HTTP_PORT): /slack/events
beside /healthz, /readyz and /metrics; in Socket Mode readiness follows the connection."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from adapters.slack.app import SlackAdapter
from bot.app.bootstrap import build
from bot.app.health import Health
from bot.clock import FrozenClock
from bot.config import Config
from bot.scheduling.engine import DeskScheduler
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import settings


async def test_one_port_for_events_health_and_metrics(tmp_path: Path) -> None:
    async with running_fake_slack() as fake:
        for socket_mode in (False, True):
            clock = FrozenClock()
            adapter = SlackAdapter(settings(fake, socket_mode), clock=clock)
            config = Config(database_url=f"sqlite:///{tmp_path / f'{socket_mode}.db'}")
            app = await build(config, {"slack": adapter.deliverer}, clock=clock)
            app.scheduler = DeskScheduler(app.runner, app.desk.settings, 15, clock)
            health = Health(app, [adapter], clock, ["slack"])
            # HTTP mode takes the routes onto its own port; Socket Mode has none to share
            await health.start(0, "127.0.0.1", lag=False)
            try:
                assert (health.port is not None) is socket_mode
                async with aiohttp.ClientSession() as http:
                    if socket_mode:
                        base = f"http://127.0.0.1:{health.port}"
                        async with http.get(f"{base}/readyz") as ready:
                            assert ready.status == 503  # not connected yet
                            assert (await ready.json())["checks"]["slack"] == "not connected"
                    await adapter.start(app.desk)
                    if not socket_mode:
                        base = f"http://127.0.0.1:{adapter.port}"
                        async with http.post(f"{base}/slack/events", data=b"{}") as events:
                            assert events.status == 401  # unsigned: Slack's own route answers
                    async with http.get(f"{base}/readyz") as ready:
                        assert ready.status == 200, await ready.text()
                        assert (await ready.json())["checks"]["slack"] == "ok"
                    async with http.get(f"{base}/metrics") as metrics:
                        assert "supportbot_tickets_opened_total" in await metrics.text()
                    async with http.get(f"{base}/healthz") as alive:
                        assert await alive.json() == {"ok": True}
            finally:
                await adapter.stop()
                await health.stop()
                await app.close()
