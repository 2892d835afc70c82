"""The Slack adapter as a whole: Bolt app, delivery, and the connection (Socket Mode or HTTP)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

# the handler's own two steps, so the work can start between them
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from adapters.slack.channels import HelpChannels
from adapters.slack.deliver import SlackDeliverer
from adapters.slack.listeners import Listeners
from adapters.slack.pacing import PacedWebClient
from adapters.slack.people import People
from adapters.slack.settings import DEFAULT_API_URL, SlackSettings
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, listening_port
from bot.config_errors import unreachable
from bot.delivery.pacing import Pacer
from bot.ports import Deliverer, DeskPort

log = logging.getLogger(__name__)
# Web API connections at once: a burst of 300 new customers is 300 lookups and then 300
# acknowledgements, each a round trip; well under a process's usual 1,024 open files
WEB_API_CONNECTIONS = 512


class SlackAdapter:
    name = "slack"

    def __init__(self, settings: SlackSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        clock = clock or SystemClock()
        # no retry handlers: slack_sdk would post again after a lost answer, and Slack would
        # show the message twice; the outbox looks before it posts again (see deliver.py)
        self.client = PacedWebClient(
            token=settings.bot_token,
            base_url=settings.api_url,
            retry_handlers=[],
            pacer=Pacer(),
            rate_scale=settings.rate_scale,
        )
        self.deliverer: Deliverer = SlackDeliverer(self.client, settings)
        self.pacers: tuple[Pacer, ...] = (self.client.pacer,)
        self.people = People(
            self.client,
            settings.staff_channel,
            clock,
            staff_group=settings.staff_group,
            leads_channel=settings.leads_channel,
        )
        self.help_channels = HelpChannels(self.client, settings, clock)
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.listeners: Listeners | None = None
        # served beside /slack/events in HTTP mode (health and metrics: one port per process)
        self.http_routes: list[web.RouteDef] = []

    def serve_http(self, routes: list[web.RouteDef]) -> bool:
        """In HTTP mode, serve `routes` on the events port too (True); Socket Mode has none."""
        if self.settings.socket_mode:
            return False
        self.http_routes = routes
        return True

    async def connected(self) -> bool:
        """For readiness: Socket Mode's connection is up, or HTTP mode's port is served."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._runner is not None

    async def check(self) -> str:
        """Ask Slack who we are; a rejected token fails here, naming the variable."""
        try:
            who = await self.client.auth_test()
        except SlackApiError as error:
            raise ConfigError(
                "SLACK_BOT_TOKEN", f"Slack rejected the token ({error.response.get('error')})"
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise unreachable(
                "Slack", self.settings.api_url, DEFAULT_API_URL, "SLACK_API_URL", error
            ) from None
        return f"{who.get('user', 'bot')} in {who.get('team', 'workspace')}"

    async def reach(self) -> str:
        """What `supportbot check` says of Slack: whom the bot token speaks for. Socket Mode's
        connection is not opened: apps.connections.open allows about one call a minute, which
        a health check running `check` would take from the bot."""
        who = await self.check()
        if self.settings.socket_mode:
            return f"{who}; Socket Mode"
        return f"{who}; HTTP mode, Slack sends events to port {self.settings.http_port}"

    def bolt_app(self, desk: DeskPort) -> AsyncApp:
        app = AsyncApp(
            client=self.client,
            signing_secret=self.settings.signing_secret or None,
            request_verification_enabled=not self.settings.socket_mode,
            process_before_response=True,
        )
        client = self.client

        @app.middleware
        async def paced_client(context: Any, next: Callable[[], Awaitable[None]]) -> None:
            # Bolt gives each request a client of its own: listeners' calls (views.open,
            # ephemeral answers) would skip the pacing and the shared connections. The
            # helpers built on that client are not used here, and Bolt could not copy them
            # for a lazy listener (the shared session cannot be copied)
            context["client"] = client
            for unused in ("say", "complete", "fail"):
                context.pop(unused, None)
            await next()

        self.listeners = Listeners(desk, self.settings, self.people, self.help_channels)
        self.listeners.register(app)
        return app

    async def start(self, desk: DeskPort) -> None:
        # one session for every Web API call: without it slack_sdk opens a session and a
        # connection (a TLS handshake, against Slack) per call; with aiohttp's default of 100
        # connections, a burst's calls (a users.info for each new customer, then each one's
        # acknowledgement) wait for one another round trip by round trip
        self.client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.client.timeout),
            connector=aiohttp.TCPConnector(limit=WEB_API_CONNECTIONS),
        )
        try:
            await self._start(desk)
        except BaseException:
            await self.client.session.close()
            raise

    async def _start(self, desk: DeskPort) -> None:
        who = await self.check()
        if self.settings.help_auto:
            await self._find_help_channels()
        app = self.bolt_app(desk)
        if self.settings.socket_mode:
            self._socket = _SocketModeHandler(app, self.settings.app_token)
            try:
                await self._socket.connect_async()  # type: ignore[no-untyped-call]
            except SlackApiError as error:
                raise ConfigError(
                    "SLACK_APP_TOKEN", f"Slack refused Socket Mode ({error.response.get('error')})"
                ) from None
            log.info("slack: connected as %s over Socket Mode", who)
            return
        self._runner = web.AppRunner(http_app(app, self.http_routes))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "0.0.0.0", self.settings.http_port)
        await site.start()
        self.port = listening_port(self._runner)
        log.info("slack: connected as %s, serving /slack/events on port %s", who, self.port)

    async def _find_help_channels(self) -> None:
        """SLACK_HELP_CHANNELS=auto: the bot's channels now, read again as it is invited."""
        try:
            await self.help_channels.look()
        except SlackApiError as error:
            if error.response.get("error") == "missing_scope":
                raise ConfigError(
                    "SLACK_HELP_CHANNELS",
                    "auto needs the channels:read and groups:read scopes: reinstall the app "
                    "from `supportbot slack manifest`",
                ) from None
            log.warning("slack: could not list the bot's channels yet: %s", error)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            log.warning("slack: could not list the bot's channels yet: %s", error)
        log.info("slack: help channels: %s", self.help_channels.described())

    async def settled(self) -> None:
        """Every acknowledged command and button press has been worked."""
        if self.listeners is not None:
            await self.listeners.settled()

    async def stop(self) -> None:
        await self.settled()
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        if self.client.session is not None:
            await self.client.session.close()


def http_app(bolt: AsyncApp, routes: list[web.RouteDef] | None = None) -> web.Application:
    """`routes`: the process's health and metrics, which then answer /healthz too."""

    async def events(request: web.Request) -> web.Response:
        # a listener that could not store its event answers 500, and Slack sends it again
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    if routes:
        app.router.add_routes(routes)
    else:
        app.router.add_get("/healthz", health)
    return app


class _SocketModeHandler(AsyncSocketModeHandler):
    """Acknowledges an envelope only when its listener kept what it carried."""

    async def handle(self, client: Any, req: Any) -> None:
        response = await run_async_bolt_app(self.app, req)
        if response.status >= 500:
            # unacknowledged, Slack delivers the envelope again (a few times, over minutes)
            log.info("slack: envelope %s left unacknowledged to be sent again", req.envelope_id)
            return
        await send_async_response(client, req, response, time.time())
