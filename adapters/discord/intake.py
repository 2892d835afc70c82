"""Inbound messages: from the gateway, from the spool, and from channel history after downtime.

Every message becomes an Arrival and takes one path to the desk. When the database cannot
take it, it goes to the spool (see spool.py) and is replayed when the database is back.

After a fresh gateway session (a restart, or a session Discord could not resume), the history
of every channel the desk heard from in the last week is read from the last message stored
before the connection was lost, and what was written meanwhile is handled once (the desk's
event-id check drops what the gateway did deliver). Where to read from is taken when the
connection goes (at start, from the database), so live messages that arrive first cannot move
it past what is still to be read; and they wait until the catch-up is done, so each channel
keeps its order.

Support channels are those DISCORD_SUPPORT_CHANNELS lists or, with `auto`, every text channel
where the bot may read and write, except the staff and leads channels: a channel the bot may
not write in is one it was not brought in to serve. There the staff talk among the server's
members, so their messages open no ticket."""

from __future__ import annotations

import asyncio
import logging

import discord

from adapters.discord.deliver import PLATFORM
from adapters.discord.interactions import teams_held
from adapters.discord.spool import Arrival, Spool
from bot import commands as c
from bot.model import Attachment, Person, Source
from bot.parser import is_command
from bot.ports import DeskPort, StorageOutage

log = logging.getLogger(__name__)
CATCH_UP_DAYS = 7  # channels quiet for longer are not read back
_PAGE = 100


class DiscordIntake:
    def __init__(
        self,
        desk: DeskPort,
        client: discord.Client,
        spool: Spool,
        *,
        staff_channel: int,
        staff_role: int,
        support_channels: tuple[int, ...],
        support_auto: bool = False,
        leads_channel: int = 0,
        retry_seconds: float = 5.0,
        team_roles: dict[str, int] | None = None,
    ) -> None:
        self.desk = desk
        self.client = client
        self.spool = spool
        self.staff_channel = staff_channel
        self.staff_role = staff_role
        self.support_channels = support_channels
        self.support_auto = support_auto
        self.leads_channel = leads_channel
        self.retry_seconds = retry_seconds
        self.team_roles = team_roles or {}  # team -> the role of its members
        self._replaying: asyncio.Task[None] | None = None
        self._catching_up: asyncio.Task[None] | None = None
        self._seen: dict[str, str] = {}  # channel -> the last message stored from it
        self._read_from: dict[str, str] | None = None  # for the next fresh session
        self._held: list[Arrival] | None = None  # live arrivals during a catch-up

    # --- from the gateway -----------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        arrival = await self.arrival_from(message)
        if arrival is not None:
            await self.arrived(arrival)

    async def arrival_from(self, message: discord.Message) -> Arrival | None:
        """What the desk needs of a message, or None for messages that are not ours."""
        if message.author.bot:
            return None  # our own relays and other bots never make tickets
        channel = message.channel
        if isinstance(channel, discord.DMChannel):
            return self._arrival(message, "customer", str(channel.id))
        if isinstance(channel, discord.Thread) and channel.parent_id == self.staff_channel:
            return self._arrival(message, "agent", str(channel.id))
        if self._is_support(message):
            # asked in public: the conversation goes on in private, in the customer's DMs
            dm = await message.author.create_dm()
            return self._arrival(message, "customer", str(dm.id))
        return None

    def _is_support(self, message: discord.Message) -> bool:
        channel = message.channel
        if not self.support_auto:
            return channel.id in self.support_channels
        if not isinstance(channel, discord.TextChannel) or channel.id in (
            self.staff_channel,
            self.leads_channel,
        ):
            return False
        me = channel.guild.me
        if me is None:  # the server is not fully known yet
            return False
        allowed = channel.permissions_for(me)
        return allowed.view_channel and allowed.send_messages and not self._is_staff(message)

    def _is_staff(self, message: discord.Message) -> bool:
        author = message.author
        return isinstance(author, discord.Member) and any(
            role.id == self.staff_role for role in author.roles
        )

    def _arrival(self, message: discord.Message, kind: str, reply_channel: str) -> Arrival:
        author = message.author
        is_staff = self._is_staff(message)
        roles = [r.id for r in author.roles] if isinstance(author, discord.Member) else []
        return Arrival(
            kind=kind,
            message_id=str(message.id),
            channel_id=str(message.channel.id),
            reply_channel=reply_channel,
            guild_id=str(message.guild.id if message.guild else ""),
            author=Person(PLATFORM, str(author.id), author.display_name),
            is_staff=is_staff,
            content=message.content,
            attachments=tuple(Attachment(a.filename, a.url) for a in message.attachments),
            teams=tuple(sorted(teams_held(roles, self.team_roles))) if is_staff else (),
        )

    async def arrived(self, arrival: Arrival) -> None:
        if self._held is not None:  # after what is being read back from history
            self._held.append(arrival)
            return
        await self._take(arrival)

    async def _take(self, arrival: Arrival) -> None:
        if self.spool.waiting:  # behind what already waits, so the order holds
            await self.spool.append(arrival)
            return
        try:
            await self.handle(arrival)
        except StorageOutage as outage:
            log.warning(
                "discord: message %s kept in the spool until the database is back: %s",
                arrival.message_id,
                outage,
            )
            await self.spool.append(arrival)
            self.start_replay()

    async def handle(self, arrival: Arrival) -> None:
        """Hand one arrival to the desk; raises StorageOutage when it cannot be stored."""
        seen = (arrival.channel_id, arrival.message_id)
        typed = False  # a command an agent typed: its answer is theirs, as a refusal is
        if arrival.kind == "customer":
            source = Source(PLATFORM, arrival.guild_id, arrival.reply_channel, "", True)
            outcome = await self.desk.handle(
                c.RelayCustomerMessage(
                    arrival.author, source, arrival.content, "", arrival.attachments
                ),
                c.Caller(arrival.author, event_id=arrival.message_id, seen=seen),
            )
        else:
            number = await self.desk.ticket_in_thread(PLATFORM, arrival.channel_id)
            if number is None:
                return
            caller = c.Caller(
                arrival.author,
                is_staff=arrival.is_staff,
                in_ticket=number,
                event_id=arrival.message_id,
                seen=seen,
                teams=frozenset(arrival.teams),
                grouped_teams=frozenset(self.team_roles),
            )
            if typed := is_command(arrival.content):  # "/ticket claim" sent as a message
                outcome = await self.desk.handle_text(arrival.content, caller)
            else:
                outcome = await self.desk.handle(
                    c.RelayAgentMessage(
                        number, arrival.content, arrival.attachments, arrival.message_id
                    ),
                    caller,
                )
        self._remember(arrival)
        if outcome.text and (typed or not outcome.ok):
            channel = self.client.get_partial_messageable(int(arrival.reply_channel))
            if arrival.kind == "agent":
                await channel.get_partial_message(int(arrival.message_id)).reply(
                    outcome.text, mention_author=False
                )
            else:
                await channel.send(outcome.text)

    # --- from the spool -------------------------------------------------------------------

    def take_over_spool(self) -> None:
        """This process now holds the gateway: what a holder before it on this host left in
        the spool file (it died while the database was down) is replayed here."""
        if not self.spool.waiting and (found := self.spool.load()):
            log.info("discord: %d message(s) wait in the spool from the last holder", found)
        self.start_replay()

    def start_replay(self) -> None:
        if self.spool.waiting and (self._replaying is None or self._replaying.done()):
            self._replaying = asyncio.create_task(self._replay())

    async def _replay(self) -> None:
        replayed = 0
        while (arrival := self.spool.first()) is not None:
            try:
                await self.handle(arrival)
            except StorageOutage:
                await asyncio.sleep(self.retry_seconds)
                continue
            except Exception:  # a bug in one message must not hold back the rest
                log.exception(
                    "discord: spooled message %s could not be handled; it is set aside in %s",
                    arrival.message_id,
                    self.spool.aside,
                )
                await self.spool.set_aside(arrival)
            await self.spool.done(arrival)
            replayed += 1
        log.info("discord: replayed %d message(s) from the spool", replayed)

    # --- from channel history -------------------------------------------------------------

    def _remember(self, arrival: Arrival) -> None:
        known = self._seen.get(arrival.channel_id)
        if known is None or int(arrival.message_id) > int(known):
            self._seen[arrival.channel_id] = arrival.message_id

    async def load_positions(self) -> None:
        """Before a gateway session of our own (the database is up): where each channel was
        left, for its READY; live messages wait for that catch-up."""
        if self._catching_up is not None:  # one from an earlier hold ends first
            await asyncio.gather(self._catching_up, return_exceptions=True)
        self._seen = await self._stored_positions()
        self._read_from = dict(self._seen)
        self._held = []

    def connection_lost(self) -> None:
        """The gateway went: what arrives next waits until we know whether anything has to
        be read back first (a fresh session) or not (Discord resumed the session)."""
        if self._read_from is None:
            self._read_from = dict(self._seen)
        if self._held is None:
            self._held = []

    async def gateway_gone(self) -> None:
        """This process stopped holding the gateway. A catch-up under way finishes (it reads
        history over REST); what waits for a session that will not come is taken in now."""
        self._read_from = None
        if self._catching_up is None or self._catching_up.done():
            await self._release_held()

    def resumed(self) -> None:
        """Discord replayed what we missed; nothing to read back."""
        self._read_from = None
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.create_task(self._release_held())

    def start_catch_up(self) -> None:
        """A fresh session: read back every channel from where it was left."""
        positions, self._read_from = self._read_from or {}, None
        if self._held is None:
            self._held = []
        self._catching_up = asyncio.create_task(self._catch_up(positions))

    async def _stored_positions(self) -> dict[str, str]:
        return await self.desk.channels_heard_since(PLATFORM, CATCH_UP_DAYS)

    async def _catch_up(self, positions: dict[str, str]) -> None:
        try:
            # channels new since the snapshot (a ticket's staff thread opened meanwhile)
            stored = await self._stored_positions()
            positions = stored | positions
        except StorageOutage as outage:
            log.warning("discord: reading back only channels known before: %s", outage)
        found = 0
        try:
            for channel_id, last in positions.items():
                try:
                    found += await self._catch_up_channel(int(channel_id), int(last))
                except discord.HTTPException as error:
                    log.warning("discord: could not read channel %s back: %s", channel_id, error)
        finally:
            await self._release_held()
        if found:
            log.info("discord: %d message(s) written while we were away were caught up", found)

    async def _release_held(self) -> None:
        """What arrived live meanwhile, in its order."""
        while self._held:
            await self._take(self._held.pop(0))
        self._held = None

    async def _catch_up_channel(self, channel_id: int, last: int) -> int:
        channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return 0
        found = 0
        after: discord.abc.Snowflake = discord.Object(last)
        while True:
            page = [m async for m in channel.history(limit=_PAGE, after=after, oldest_first=True)]
            for message in page:
                arrival = await self.arrival_from(await self._with_member(message))
                if arrival is not None:
                    await self._take(arrival)
                    found += 1
            if len(page) < _PAGE:
                return found
            after = page[-1]

    async def _with_member(self, message: discord.Message) -> discord.Message:
        """History carries users, not members: look the member up, for their roles."""
        if message.guild is not None and not isinstance(message.author, discord.Member):
            member = message.guild.get_member(message.author.id)
            if member is None:
                try:
                    member = await message.guild.fetch_member(message.author.id)
                except discord.HTTPException:
                    return message
            message.author = member
        return message

    async def stop(self) -> None:
        for task in (self._replaying, self._catching_up):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._replaying, self._catching_up) if t is not None),
            return_exceptions=True,
        )
