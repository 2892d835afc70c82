"""One Discord gateway among several processes: a holder and standbys.

Every `supportbot run` sharing a PostgreSQL database logs in to Discord's REST API and
delivers the outbox, but only the process holding the gateway lock (storage.leadership)
connects to the gateway: two connections would take every message in twice. A standby tries
for the lock every few seconds and, when it gets it, connects as a start always did (READY,
checks, then the catch-up of what was written while nobody held the gateway, from the stored
positions). A holder that loses the lock's database connection disconnects at once and stands
by: it can no longer tell that it is the only one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import discord

from adapters.discord.deliver import DiscordDeliverer
from adapters.discord.forum_tags import TAGS
from bot.config import ConfigError
from bot.kinds import MessageKind
from bot.model import OutboundMessage, Ticket
from bot.ports import DeliveryError, DeliveryReceipt, StorageOutage
from storage.engine import StorageUnavailable
from storage.leadership import RoleLock

log = logging.getLogger(__name__)
FAILED_TAKEOVER_PAUSE = 60.0  # seconds before trying again after a takeover that failed


class SharedDeliverer(DiscordDeliverer):
    """Delivers from a holder and from a standby alike, with one exception.

    Sends, edits and reactions are REST calls, which a logged-in client makes without the
    gateway. A new ticket's card is not: it needs the staff channel as the gateway shows it
    (and, for a card in doubt, the forum's threads, which only the gateway lists), so a
    standby leaves cards to the holder: the outbox tries again shortly, wherever. A standby
    reads the forum's tags over REST for card updates."""

    retry_seconds = 5.0
    _text_channel = False  # the staff channel has no tags
    _held: asyncio.Event | None = None

    @property
    def holding(self) -> bool:
        """The gateway is connected and checked; set by the adapter."""
        return self._held is not None and self._held.is_set()

    @holding.setter
    def holding(self, value: bool) -> None:
        if self._held is None:
            self._held = asyncio.Event()
        (self._held.set if value else self._held.clear)()

    async def _gateway_held(self) -> bool:
        """Whether this process holds the gateway, waiting a little for one that is just
        connecting (a new ticket's card can be on its way before READY)."""
        if self._held is None:
            self._held = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.retry_seconds):
                await self._held.wait()
        return self._held.is_set()

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        if not self.holding:
            if message.kind == MessageKind.CARD and not await self._gateway_held():
                raise DeliveryError(
                    "a card is posted by the process that holds the Discord gateway",
                    retry_after=self.retry_seconds,
                    in_doubt=message.in_doubt,  # whoever posts it looks for it first
                )
            if message.kind == MessageKind.CARD_UPDATE:
                await self._learn_tags(message)
        return await super().deliver(message, ticket)

    async def _learn_tags(self, message: OutboundMessage) -> None:
        if self._text_channel or all(name in self.tags for name in TAGS):
            return
        try:
            channel = await self.client.fetch_channel(self.staff_channel)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as error:
            raise DeliveryError(
                f"cannot read the staff forum's tags: {error}", in_doubt=message.in_doubt
            ) from error
        if not isinstance(channel, discord.ForumChannel):
            self._text_channel = True
            return
        self.tags = {tag.name: tag.id for tag in channel.available_tags}
        if not all(name in self.tags for name in TAGS):  # the holder creates them
            raise DeliveryError(
                "the staff forum lacks its status tags until the gateway holder adds them",
                retry_after=self.retry_seconds,
                in_doubt=message.in_doubt,
            )


class GatewayLeader:
    """Holds the gateway while this process holds the lock, and stands by otherwise.

    `connect` connects and checks, returning the task that runs the connection; `disconnect`
    ends it (both are the adapter's)."""

    def __init__(
        self,
        lock: RoleLock,
        retry_seconds: float,
        connect: Callable[[], Awaitable[asyncio.Task[None]]],
        disconnect: Callable[[], Awaitable[None]],
    ) -> None:
        self.lock = lock
        self.retry_seconds = retry_seconds
        self._connect = connect
        self._disconnect = disconnect
        self.holding = False
        self.held_by: str | None = None  # as last seen while standing by
        self._connection: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._unreachable = False  # said so already; quiet until it is reachable again

    @property
    def role(self) -> str:
        if self.holding:
            return "holder"
        return f"standby (held by {self.held_by})" if self.held_by else "standby"

    async def start(self) -> None:
        """The first try: a holder is connected and checked when this returns (a rejected
        token or a missing permission stops the start, as always); a standby returns at once
        and keeps trying in the background."""
        if await self._try():
            await self._hold()
        else:
            await self._stand_by()
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._let_go()

    async def _try(self) -> bool:
        try:
            holds = await self.lock.try_acquire()
        except StorageUnavailable as error:
            if not self._unreachable:
                log.warning(
                    "discord gateway: cannot ask the database for the gateway lock (%s); "
                    "trying again every %g s",
                    error,
                    self.retry_seconds,
                )
            self._unreachable = True
            return False
        self._unreachable = False
        return holds

    async def _hold(self) -> None:
        self._connection = await self._connect()
        self.holding = True

    async def _stand_by(self) -> None:
        self.held_by = await self.lock.holder()
        log.info(
            "discord gateway: standby, held by %s; this process takes over when it goes "
            "(trying every %g s)",
            self.held_by or "another process",
            self.retry_seconds,
        )

    async def _let_go(self) -> None:
        """Disconnect first, then let the lock go: never two gateways at once."""
        self.holding = False
        self._connection = None
        await self._disconnect()
        await self.lock.release()

    async def _supervise(self) -> None:
        pause = self.retry_seconds
        while True:
            if self.holding:
                reason = await self._until_lost()
                if reason is None:  # the connection stopped for good; logged where it did
                    await self._let_go()
                    return
                await self._let_go()
                log.warning(
                    "discord gateway: the gateway lock is not sure any more (%s); "
                    "disconnected, standing by",
                    reason,
                )
                self.held_by = None
            await asyncio.sleep(pause)
            pause = self.retry_seconds
            if not await self._try():
                continue
            log.info(
                "discord gateway: taking over%s",
                f" (held by {self.held_by} until now)" if self.held_by else "",
            )
            try:
                await self._hold()
            except Exception as error:
                await self._let_go()
                self._took_over_badly(error)
                pause = FAILED_TAKEOVER_PAUSE

    async def _until_lost(self) -> str | None:
        """The reason the lock is not sure any more, or None when the gateway connection
        itself stopped."""
        assert self._connection is not None
        watch = asyncio.create_task(self.lock.watch())
        done, _ = await asyncio.wait({watch, self._connection}, return_when=asyncio.FIRST_COMPLETED)
        if watch in done:
            return watch.result()
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        return None

    def _took_over_badly(self, error: Exception) -> None:
        again = f"trying again in {FAILED_TAKEOVER_PAUSE:g} s"
        if isinstance(error, ConfigError):
            log.error("discord gateway: could not take over: %s; %s", error, again)
        elif isinstance(error, StorageOutage | StorageUnavailable):
            log.warning("discord gateway: could not take over: %s; %s", error, again)
        else:  # not foreseen: the trace is what finds it
            log.error("discord gateway: could not take over; %s", again, exc_info=error)
