"""The Discord adapter as a whole: client, intake, delivery, and the gateway held by one of
the processes sharing a database (see standby.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.forum_tags import TAGS
from adapters.discord.intake import DiscordIntake
from adapters.discord.interactions import Interactions
from adapters.discord.settings import DEFAULT_API_URL, DEFAULT_GATEWAY_URL, DiscordSettings
from adapters.discord.slash import ticket_commands
from adapters.discord.spool import Spool
from adapters.discord.standby import GatewayLeader, SharedDeliverer
from bot.config import ConfigError
from bot.config_errors import Unreachable, unreachable
from bot.delivery.pacing import Pacer
from bot.ports import Deliverer, DeskPort
from storage.leadership import RoleLock, SoleLock

log = logging.getLogger(__name__)

READY_SECONDS = 60.0  # how long a start waits for the gateway's READY (check: for its HELLO)


class DiscordAdapter:
    name = "discord"

    def __init__(self, settings: DiscordSettings, gateway_lock: RoleLock | None = None) -> None:
        """`gateway_lock` decides which process holds the gateway (always this one without)."""
        self.settings = settings
        # every REST call and the gateway go where the settings say (a local fake in tests)
        Route.BASE = settings.api_url
        # discord.py parses with orjson whenever it is installed, and orjson refuses a lone
        # surrogate, which Discord delivers in message text: one such DM would cut the bot
        # off, again on every resume. The standard parser keeps it (the desk makes it U+FFFD).
        discord.utils._from_json = json.loads
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
        # a text desk joins no voice channel: two start-up warnings about voice say nothing
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: enable it in the Developer Portal
        self.client = discord.Client(
            intents=intents,
            guild_ready_timeout=0.5,  # one server: its GUILD_CREATE follows READY at once
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self._delivery = SharedDeliverer(
            self.client,
            settings.staff_channel,
            guild_id=settings.guild_id,
            leads_channel=settings.leads_channel,
            staff_role=settings.staff_role,
            lead_role=settings.lead_role,
        )
        self._delivery.retry_seconds = settings.standby_retry_seconds
        self.deliverer: Deliverer = self._delivery
        self.pacers: tuple[Pacer, ...] = (self._delivery.pacer,)
        self.tree = discord.app_commands.CommandTree(self.client)
        self.leader = GatewayLeader(
            gateway_lock or SoleLock(),
            settings.standby_retry_seconds,
            self._connect_gateway,
            self._disconnect_gateway,
        )
        self._runner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.intake: DiscordIntake | None = None

    @property
    def role(self) -> str:
        """This process's part, for the log line at start."""
        return f"discord gateway: {self.leader.role}"

    async def connected(self) -> bool:
        """For readiness: started, and on the gateway where this process holds it (a standby
        delivers without it)."""
        if self.intake is None or self.client.is_closed():
            return False
        if not self.leader.holding:
            return True
        ws = self.client.ws
        return ws is not None and ws.open and self._ready.is_set()

    async def start(self, desk: DeskPort) -> None:
        try:
            await self._start(desk)
        except BaseException:
            await self.stop()  # no half-open connection or session left behind
            raise

    async def _start(self, desk: DeskPort) -> None:
        spool = Spool(Path(self.settings.spool_file))
        try:
            spool.check_writable()
        except OSError as error:
            raise ConfigError("DISCORD_SPOOL_FILE", f"cannot write there: {error}") from None
        if waiting := spool.load():
            log.info("discord: %d message(s) wait in the spool from the last run", waiting)
        self.intake = DiscordIntake(
            desk,
            self.client,
            spool,
            staff_channel=self.settings.staff_channel,
            staff_role=self.settings.staff_role,
            support_channels=self.settings.support_channels,
            support_auto=self.settings.support_auto,
            leads_channel=self.settings.leads_channel,
            team_roles=self.settings.team_roles,
        )
        self.intake.start_replay()
        self.client.event(self.on_ready)
        self.client.event(self.on_disconnect)
        self.client.event(self.on_resumed)
        self.client.event(self.intake.on_message)
        interactions = Interactions(
            desk,
            self.settings.staff_role,
            self.settings.lead_role,
            team_roles=self.settings.team_roles,
        )
        self.interactions = interactions
        self.client.event(interactions.on_interaction)
        guild = discord.Object(self.settings.guild_id)
        self.tree.add_command(
            ticket_commands(desk, interactions, self.settings.staff_channel), guild=guild
        )
        await self._login()  # every process: REST calls (delivery, catch-up) need it
        await self.leader.start()

    async def _login(self) -> None:
        try:
            await self.client.login(self.settings.bot_token)
        except discord.LoginFailure:
            raise ConfigError("DISCORD_BOT_TOKEN", "Discord rejected the token") from None
        except (aiohttp.ClientError, OSError, TimeoutError, discord.HTTPException) as error:
            raise unreachable(
                "Discord", self.settings.api_url, DEFAULT_API_URL, "DISCORD_API_URL", error
            ) from None

    def _gateway_unreachable(self, why: BaseException | str) -> ConfigError | Unreachable:
        return unreachable(
            "the Discord gateway",
            self.settings.gateway_url,
            DEFAULT_GATEWAY_URL,
            "DISCORD_GATEWAY_URL",
            why,
        )

    async def reach(self, gateway_holder: str | None = None) -> str:
        """What `supportbot check` says of Discord: the token logs in, and the gateway says
        HELLO, unless a running process (`gateway_holder`) holds it and so has reached it.
        Nothing identifies on the gateway: Discord counts every session started."""
        try:
            await self._login()
            if gateway_holder:
                return f"{self.client.user}; {gateway_holder} holds the gateway"
            gateway = yarl.URL(self.settings.gateway_url).with_query(v=10, encoding="json")
            try:
                ws = await self.client.http.ws_connect(str(gateway))
                try:
                    hello = await ws.receive(timeout=READY_SECONDS)
                finally:
                    await ws.close()
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                raise self._gateway_unreachable(error) from None
        finally:
            await self.client.close()
        if hello.type != aiohttp.WSMsgType.TEXT:
            raise self._gateway_unreachable("it closed the connection without a HELLO")
        try:
            op = json.loads(hello.data).get("op")
        except (ValueError, AttributeError):
            op = None
        if op != 10:
            raise ConfigError(
                "DISCORD_GATEWAY_URL",
                f"{self.settings.gateway_url} answered, but not as Discord's gateway does",
            )
        return f"{self.client.user}; the gateway answered"

    async def _connect_gateway(self) -> asyncio.Task[None]:
        """Hold the gateway: connect and check as a start always did; READY starts the
        catch-up of what was written while nobody held it. Returns the connection's task."""
        assert self.intake is not None
        await self.intake.load_positions()
        self.intake.take_over_spool()
        self._ready.clear()
        runner = self._runner = asyncio.create_task(self._connect())
        runner.add_done_callback(self._connection_ended)
        ready = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait(
            {runner, ready}, timeout=READY_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if runner in done:
            runner.result()  # raises what stopped it
        if not self._ready.is_set():
            raise self._gateway_unreachable(TimeoutError(f"no READY in {READY_SECONDS:g} s"))
        staff = self.client.get_channel(self.settings.staff_channel)
        if not isinstance(staff, discord.ForumChannel | discord.TextChannel):
            raise ConfigError(
                "DISCORD_STAFF_CHANNEL",
                "is not a forum or text channel the bot can see; give the bot View Channel, "
                "Create Posts (or Create Public Threads) and Send Messages in Threads there",
            )
        missing = _missing_permissions(staff)
        if missing:
            raise ConfigError(
                "DISCORD_STAFF_CHANNEL",
                "the bot lacks these permissions there: "
                f"{', '.join(missing)} (server settings -> the bot's role, or "
                "the channel's permissions)",
            )
        self._check_leads_channel()
        if isinstance(staff, discord.ForumChannel):
            await self._ensure_tags(staff)
        await self.tree.sync(guild=discord.Object(self.settings.guild_id))
        self._delivery.holding = True
        log.info("discord: connected as %s to %s", self.client.user, staff.guild.name)
        return runner

    async def _disconnect_gateway(self) -> None:
        """Leave the gateway (the REST client stays logged in, for delivery)."""
        self._delivery.holding = False
        self._ready.clear()
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        ws = self.client.ws
        if ws is not None and ws.open:  # code 1000: the session ends, nothing resumes it
            await ws.close(code=1000)
        if self.intake is not None:
            await self.intake.gateway_gone()

    def _check_leads_channel(self) -> None:
        """The digest and breach alerts go there; find out now, not at 09:00 tomorrow."""
        if not self.settings.leads_channel:
            return
        leads = self.client.get_channel(self.settings.leads_channel)
        if not isinstance(leads, discord.TextChannel):
            raise ConfigError(
                "DISCORD_LEADS_CHANNEL",
                "is not a text channel the bot can see; give the bot View Channel and "
                "Send Messages there, or leave DISCORD_LEADS_CHANNEL empty",
            )
        allowed = leads.permissions_for(leads.guild.me)
        if not (allowed.view_channel and allowed.send_messages):
            raise ConfigError(
                "DISCORD_LEADS_CHANNEL", "the bot needs View Channel and Send Messages there"
            )

    async def _ensure_tags(self, forum: discord.ForumChannel) -> None:
        """Create the status tags the forum lacks, and remember every tag's id."""
        missing = [name for name in TAGS if name not in {t.name for t in forum.available_tags}]
        if missing:
            try:
                forum = await forum.edit(
                    available_tags=[
                        *forum.available_tags,
                        *(discord.ForumTag(name=n) for n in missing),
                    ]
                )
            except discord.Forbidden:
                raise ConfigError(
                    "DISCORD_STAFF_CHANNEL",
                    "the bot needs Manage Channels on "
                    f"the forum to create its tags ({', '.join(missing)})",
                ) from None
        self._delivery.tags = {t.name: t.id for t in forum.available_tags}

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(
                "DISCORD_BOT_TOKEN",
                "the bot needs the Message Content intent: "
                "Developer Portal -> Bot -> Privileged Gateway Intents",
            ) from None

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.critical(
                "discord: the gateway connection stopped; restart supportbot",
                exc_info=task.exception(),
            )

    async def on_ready(self) -> None:
        """Each new gateway session: what was written while we were away is read back."""
        self._ready.set()
        if self.intake is not None:
            self.intake.start_catch_up()

    async def on_disconnect(self) -> None:
        if self.intake is not None:
            self.intake.connection_lost()

    async def on_resumed(self) -> None:
        if self.intake is not None:
            self.intake.resumed()

    async def stop(self) -> None:
        await self.leader.stop()  # off the gateway, then the lock goes to a standby
        if self.intake is not None:
            await self.intake.stop()
        await self.client.close()


# what the staff channel must allow the bot, by discord.py's permission names
NEEDED = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Posts / Create Public Threads",
    "manage_threads": "Manage Threads",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
    "add_reactions": "Add Reactions",
}


def _missing_permissions(channel: discord.ForumChannel | discord.TextChannel) -> list[str]:
    allowed = channel.permissions_for(channel.guild.me)
    return [label for name, label in NEEDED.items() if not getattr(allowed, name)]
