"""Outbound: outbox messages to Discord. Relayed text never pings anyone, and text over
2,000 characters is split, not cut.

Every message part carries a nonce naming its outbox row and part, and discord.py sends it
with `enforce_nonce`: when a send is repeated after a lost answer (or by discord.py's own
retry of a 5xx), Discord returns the message it already has instead of posting it again.
Discord keeps nonces for a few minutes, which covers a retry or a restart. A forum post has
no nonce; a card in doubt is looked for among the forum's threads first. Edits, thread
changes and reactions set a state, so repeating them changes nothing.

Files a message carries (a transcript) go as attachments of its text: up to 10 a message
and 10 MiB in all, more over further messages (parts like the text's, each with its own
nonce). A file over 10 MiB cannot go at all: the text names it instead."""

from __future__ import annotations

import io
import logging
from typing import Any

import aiohttp
import discord

from adapters.discord.forum_tags import ForumTags
from adapters.discord.views import buttons
from adapters.text import resolve_ticket_links, split_text
from bot.delivery.pacing import Pacer, Route
from bot.kinds import MessageKind
from bot.model import Audience, FileToSend, OutboundMessage, Ticket, files_of
from bot.ports import LEADS_GROUP, STAFF_GROUP, DeliveryError, DeliveryReceipt

log = logging.getLogger(__name__)
PLATFORM = "discord"
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
_HISTORY = 100  # a message in doubt is among the channel's latest (one page)
LIMIT = 2000
# a bot's uploads where no boost raises them (and in DMs): attachments a message, and bytes a
# file; a message's files stay within the bytes in all, should Discord count them together
MAX_FILES = 10
MAX_BYTES = 10 * 1024 * 1024
DELIVERED = "✅"
INTERNAL = "🔒"
# reactions on the agent's own message
_MARKS = {MessageKind.NOTE: INTERNAL, MessageKind.DELIVERED: DELIVERED}
NO_PINGS = discord.AllowedMentions.none()
# Discord allows a bot 50 requests per second in all
# one bot token, whichever process calls: shared by every process on the database
GLOBAL = Route("discord:global", 50.0, burst=50, serial=False, shared=True)


class DiscordDeliverer:
    platform = PLATFORM

    def __init__(
        self,
        client: discord.Client,
        staff_channel: int,
        *,
        guild_id: int = 0,
        leads_channel: int = 0,
        staff_role: int = 0,
        lead_role: int = 0,
    ) -> None:
        self.client = client
        self.staff_channel = staff_channel
        self.guild_id = guild_id
        self.leads_channel = leads_channel
        self.has_leads_channel = bool(leads_channel)
        # the core's group tokens: the staff role, and the lead role (else staff again)
        self.groups = {STAFF_GROUP: staff_role, LEADS_GROUP: lead_role or staff_role}
        self.forum_tags = ForumTags(client, staff_channel)
        self.pacer = Pacer()

    @property
    def tags(self) -> dict[str, int]:
        """The staff forum's tags, name -> id: filled in at start (none in a text channel)."""
        return self.forum_tags.ids

    @tags.setter
    def tags(self, ids: dict[str, int]) -> None:
        self.forum_tags.ids = ids

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        """The channel the message's call goes to. discord.py keeps each route's bucket and
        waits when it is empty; one call at a time per channel keeps those waits to one
        sending slot."""
        if message.audience is Audience.CUSTOMER:
            channel = message.channel
        elif message.audience is Audience.LEADS:
            channel = str(self.leads_channel)
        elif message.kind == MessageKind.CARD or ticket is None:
            channel = str(self.staff_channel)
        else:
            channel = ticket.staff_thread or str(self.staff_channel)
        return Route(f"discord:{channel}")

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        try:
            async with self.pacer.turn(GLOBAL):  # discord.py learns of this one only by a 429
                return await self._deliver(message, ticket)
        except discord.Forbidden as error:  # 50007: the user does not accept DMs from us
            raise DeliveryError(
                f"Discord refused: {error.text or 'forbidden'}", permanent=True
            ) from error
        except discord.NotFound as error:
            raise DeliveryError(f"Discord says it is gone: {error.text}", permanent=True) from error
        except discord.HTTPException as error:
            reason = f"Discord error {error.status}: {error.text}"
            if error.status == 429:  # one discord.py gave up on: the outbox waits it out
                retry_after = float(error.response.headers.get("Retry-After", 1))
                raise DeliveryError(reason, retry_after=retry_after) from error
            if error.status >= 500:  # Discord may have taken it; the nonce makes a resend safe
                raise DeliveryError(reason, in_doubt=True) from error
            raise DeliveryError(reason, permanent=True) from error  # a request no retry fixes
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise DeliveryError(f"network: {type(error).__name__}", in_doubt=True) from error

    async def _deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        source_id = str(message.data.get("source_message_id", ""))
        if message.audience is Audience.CUSTOMER:
            return await self._send(int(message.channel), message)
        if message.audience is Audience.LEADS:
            return await self._send(self.leads_channel, message)
        if message.kind == MessageKind.CARD:
            return await self._open_post(message)
        if ticket is None or not ticket.staff_thread:
            raise DeliveryError("the ticket has no staff thread", permanent=True)
        thread = int(ticket.staff_thread)
        if message.kind == MessageKind.CARD_UPDATE:
            # in a forum the card opens the post; in a text channel it sits above the thread
            starter = self.client.get_partial_messageable(
                int(ticket.staff_channel or thread)
            ).get_partial_message(int(ticket.card_message_id))
            await starter.edit(
                embed=self._card_embed(message),
                view=buttons(message.actions),
                allowed_mentions=NO_PINGS,
            )
            # last, as the command's last word: tag it, and archive it when it is closed
            await self._tag_post(thread, message)
            return DeliveryReceipt(ticket.card_message_id, str(thread), str(thread))
        if message.kind in _MARKS and source_id:
            # the agent's own message is in the thread already: mark it internal, or delivered
            await self._react(thread, int(source_id), _MARKS[message.kind])
            return DeliveryReceipt(source_id, str(thread), str(thread))
        return await self._send(thread, message)

    async def _open_post(self, message: OutboundMessage) -> DeliveryReceipt:
        """A forum post per ticket; in a text channel, the card and a thread on it."""
        staff = self.client.get_channel(self.staff_channel)
        name = f"#{message.ticket_number} {message.data.get('subject', '')}"[:100]
        if isinstance(staff, discord.TextChannel):
            card = await staff.send(
                embed=self._card_embed(message),
                view=buttons(message.actions),
                allowed_mentions=NO_PINGS,
                nonce=_nonce(message, 0),
            )
            try:
                on_card = (await card.create_thread(name=name)).id
            except discord.HTTPException as error:
                if error.code != THREAD_EXISTS:
                    raise
                on_card = card.id  # made by the attempt whose answer was lost
            return DeliveryReceipt(str(card.id), str(staff.id), str(on_card))
        forum = staff
        if not isinstance(forum, discord.ForumChannel):
            raise DeliveryError("DISCORD_STAFF_CHANNEL is not a channel the bot can see")
        if message.in_doubt:
            found = self._posted_card(forum, str(message.ticket_number))
            if found is not None:
                log.info("outbox message %s: the card was already in the forum", message.id)
                return found
        created = await forum.create_thread(
            name=name,
            embed=self._card_embed(message),
            view=buttons(message.actions),
            applied_tags=[t for t in map(forum.get_tag, self.forum_tags.status_ids("open")) if t],
            allowed_mentions=NO_PINGS,
        )
        thread_id = str(created.thread.id)
        return DeliveryReceipt(str(created.message.id), thread_id, thread_id)

    def _posted_card(self, forum: discord.ForumChannel, number: str) -> DeliveryReceipt | None:
        """The forum post an earlier attempt made for this ticket (the gateway told us)."""
        me = self.client.user.id if self.client.user else None
        for thread in forum.threads:
            ours = thread.owner_id == me
            if ours and (thread.name == f"#{number}" or thread.name.startswith(f"#{number} ")):
                # a forum post's first message has the thread's id
                return DeliveryReceipt(str(thread.id), str(thread.id), str(thread.id))
        return None

    async def _tag_post(self, thread: int, message: OutboundMessage) -> None:
        status = str(message.data.get("status", ""))
        tags = [str(t) for t in message.data.get("tags", [])]
        changes: dict[str, Any] = {"archived": status == "closed"}
        if not self.tags:  # a text channel's threads have no tags
            await self.client.http.edit_channel(thread, **changes)
            return
        changes["applied_tags"] = [str(t) for t in await self.forum_tags.applied(status, tags)]
        try:
            await self.client.http.edit_channel(thread, **changes)
        except discord.HTTPException as error:
            if error.status != 400:
                raise
            # a tag went from the forum since it was cached: read the tags again, once
            await self.forum_tags.refresh()
            changes["applied_tags"] = [str(t) for t in await self.forum_tags.applied(status, tags)]
            await self.client.http.edit_channel(thread, **changes)

    async def _send(self, channel_id: int, message: OutboundMessage) -> DeliveryReceipt:
        channel = self.client.get_partial_messageable(channel_id)
        body = message.body
        if message.kind == MessageKind.NOTE:
            body = f"{INTERNAL} **{message.author_name}** (internal): {body}"
        elif message.author_name:
            body = f"**{message.author_name}:** {body}"
        users = [int(u) for u in message.mentions if u.isdigit()]
        roles = [self.groups[m] for m in message.mentions if self.groups.get(m)]
        mentions = " ".join([f"<@{u}>" for u in users] + [f"<@&{r}>" for r in roles])
        allowed = discord.AllowedMentions(
            everyone=False,
            roles=[discord.Object(r) for r in roles],
            replied_user=False,
            users=[discord.Object(u) for u in users],
        )
        body = resolve_ticket_links(body, lambda n: self._link(n, message))
        groups, too_large = _pack(files_of(message))
        for name, size in too_large:
            body += f"\n⚠️ {name} ({size / 2**20:.1f} MiB) is over Discord's 10 MiB limit."
        parts = split_text(f"{mentions} {body}" if mentions else body, LIMIT)
        parts += [""] * (len(groups) - len(parts))  # files beyond the text's parts go alone
        groups += [[] for _ in range(len(parts) - len(groups))]
        expected = [
            (part, [f.name for f in group]) for part, group in zip(parts, groups, strict=True)
        ]
        sent_before = (
            await self._already_sent(channel, message, expected) if message.in_doubt else {}
        )
        first = sent_before.get(0, "")
        for index, part in enumerate(parts):
            if index in sent_before:
                continue
            extra: dict[str, Any] = {}
            if index == len(parts) - 1 and message.actions:
                extra["view"] = buttons(message.actions)
            if groups[index]:
                extra["files"] = [
                    discord.File(io.BytesIO(f.text.encode()), filename=f.name)
                    for f in groups[index]
                ]
            sent = await channel.send(
                part,
                allowed_mentions=allowed if index == 0 else NO_PINGS,
                nonce=_nonce(message, index),
                **extra,
            )
            first = first or str(sent.id)
        return DeliveryReceipt(first, str(channel_id), "")

    async def _already_sent(
        self,
        channel: discord.PartialMessageable,
        message: OutboundMessage,
        parts: list[tuple[str, list[str]]],
    ) -> dict[int, str]:
        """Parts of a message in doubt that are in the channel already: part -> message id.
        A part is its text and the names of the files attached to it.

        The nonce covers a resend within Discord's few minutes; a process that was down for
        longer finds its own messages in the channel's recent history instead."""
        if self.client.user is None:
            return {}
        found: dict[int, str] = {}
        recent = [m async for m in channel.history(limit=_HISTORY)]  # newest first
        for posted in reversed(recent):
            if posted.author.id != self.client.user.id:
                continue
            names = [a.filename for a in posted.attachments]
            for index, part in enumerate(parts):
                if index not in found and (posted.content, names) == part:
                    found[index] = str(posted.id)
                    break
        if found:
            log.info(
                "outbox message %s was already in Discord: parts %s", message.id, sorted(found)
            )
        return found

    def _card_embed(self, message: OutboundMessage) -> discord.Embed:
        lines = message.body.splitlines()
        title = lines[0].strip("*") if lines else f"#{message.ticket_number}"
        rest = resolve_ticket_links("\n".join(lines[1:]), lambda n: self._link(n, message))
        return discord.Embed(title=title[:256], description=rest[:4000])

    def _link(self, number: str, message: OutboundMessage) -> str:
        channel, thread = (message.data.get("links", {}).get(number) or ["", ""])[:2]
        if not (thread or channel) or not self.guild_id:
            return f"#{number}"
        return f"[#{number}](https://discord.com/channels/{self.guild_id}/{thread or channel})"

    async def _react(self, channel_id: int, message_id: int, emoji: str) -> None:
        # idempotent: a reaction that is already there stays one reaction
        await (
            self.client.get_partial_messageable(channel_id)
            .get_partial_message(message_id)
            .add_reaction(emoji)
        )


def _pack(files: list[FileToSend]) -> tuple[list[list[FileToSend]], list[tuple[str, int]]]:
    """Files in messages' worth, in order; and (name, bytes) of those too large to send."""
    groups: list[list[FileToSend]] = []
    too_large: list[tuple[str, int]] = []
    room = 0
    for f in files:
        size = len(f.text.encode())
        if size > MAX_BYTES:
            too_large.append((f.name, size))
            continue
        if not groups or len(groups[-1]) == MAX_FILES or size > room:
            groups.append([])
            room = MAX_BYTES
        groups[-1].append(f)
        room -= size
    return groups, too_large


def _nonce(message: OutboundMessage, part: int) -> str:
    """Unique per outbox row and part, within Discord's 25 characters."""
    return f"sb{message.id}.{part}"
