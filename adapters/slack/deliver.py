"""Outbound: outbox messages to Slack Web API calls. Failures become DeliveryErrors that the
outbox sender retries (honouring Retry-After) or reports.

Every post carries message metadata naming its outbox row and part. A message in doubt (its
last send got no answer) is first looked for in the channel or thread: the parts found there
are not posted again. Edits (chat.update) and reactions set a state rather than add a
message, so sending them twice changes nothing; they need no lookup. Messages that carry
files (transcripts) are uploaded and shared where their text would go (see files.py)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import button, mrkdwn_blocks, slack_actions
from adapters.slack.files import COMPLETE, share_files, upload_route
from adapters.slack.pacing import paced_ahead, post_route, retry_after, tier_route
from adapters.slack.settings import SlackSettings
from adapters.slack.text import mention, mrkdwn, split
from adapters.text import linked_numbers, resolve_ticket_links
from bot.delivery.pacing import Route
from bot.kinds import MessageKind
from bot.model import Action, Audience, OutboundMessage, Ticket, files_of
from bot.ports import LEADS_GROUP, STAFF_GROUP, DeliveryError, DeliveryReceipt

log = logging.getLogger(__name__)

PLATFORM = "slack"
METADATA_TYPE = "supportbot_outbox"
# a message in doubt was posted after its row was written; look back this far before that
_LOOKBACK_SECONDS = 60
# errors that another attempt cannot fix: the message is marked failed and staff are told
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "cannot_dm_bot",
    "user_disabled",
    "msg_too_long",
    "no_text",
    "invalid_blocks",
    "message_not_found",
    "cant_update_message",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "restricted_action",
    "file_uploads_disabled",  # the workspace's policy, for files and for large files
    "file_upload_size_restricted",
}
# errors after which Slack may have posted the message all the same
_MAYBE_POSTED = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
DELIVERED = "white_check_mark"
INTERNAL = "lock"
PERMALINKS_KEPT = 2000
# reactions on the agent's own message
_MARKS = {MessageKind.NOTE: INTERNAL, MessageKind.DELIVERED: DELIVERED}


class SlackDeliverer:
    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, settings: SlackSettings) -> None:
        self.client = client
        self.settings = settings
        self.has_leads_channel = bool(settings.leads_channel)
        # a message's permalink never changes; a card links the same threads at every update
        self._permalinks: dict[tuple[str, str], str] = {}

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        """Where the message's first call goes, as Slack counts its limits."""
        rate = self.settings.rate_scale
        if message.kind == MessageKind.TRANSCRIPT and files_of(message):
            return upload_route(COMPLETE, rate)  # the file URLs take turns as they go
        if message.audience is Audience.CUSTOMER:
            return post_route(message.channel, rate)
        if message.audience is Audience.LEADS:
            return post_route(self.settings.leads_channel, rate)
        if message.kind == MessageKind.CARD or ticket is None:
            return post_route(self.settings.staff_channel, rate)
        # an edit or a reaction waits for its tier's turn here, before it takes a sending slot
        if message.kind == MessageKind.CARD_UPDATE:
            return tier_route("chat.update", rate, shared=True)
        if message.kind in _MARKS and message.data.get("source_message_id"):
            return tier_route("reactions.add", rate, shared=True)
        return post_route(ticket.staff_channel or self.settings.staff_channel, rate)

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        try:
            return await self._deliver(message, ticket)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            # the request may have reached Slack before the connection went
            raise DeliveryError(f"network: {type(error).__name__}", in_doubt=True) from error

    async def _deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        source_id = str(message.data.get("source_message_id", ""))
        if message.kind == MessageKind.TRANSCRIPT and files_of(message):
            return await self._share(message, ticket)
        if message.audience is Audience.CUSTOMER:
            return await self._post(message.channel, message.thread, message)
        if message.audience is Audience.LEADS:
            return await self._post(self.settings.leads_channel, "", message)
        if message.kind == MessageKind.CARD:
            number = ticket.number if ticket else None
            return await self._post(self.settings.staff_channel, "", message, ticket=number)
        if ticket is None:
            raise DeliveryError("staff message without a ticket", permanent=True)
        if message.kind == MessageKind.CARD_UPDATE:
            if not ticket.card_message_id:
                raise DeliveryError("the ticket card was never posted", permanent=True)
            # idempotent: the card is set to this state, however often it is sent
            with paced_ahead("chat.update"):
                await self.client.chat_update(
                    channel=ticket.staff_channel,
                    ts=ticket.card_message_id,
                    text=_fallback(message),
                    blocks=mrkdwn_blocks(
                        await self._linked(mrkdwn(message.body), message), slack_actions(message)
                    ),
                )
            return DeliveryReceipt(ticket.card_message_id, ticket.staff_channel)
        if message.kind in _MARKS and source_id:
            # the agent's own message is already in the thread; mark it internal, or delivered
            with paced_ahead("reactions.add"):
                await self._react(ticket.staff_channel, source_id, _MARKS[message.kind])
            return DeliveryReceipt(source_id, ticket.staff_channel)
        return await self._post(
            ticket.staff_channel or self.settings.staff_channel, ticket.staff_thread, message
        )

    async def _post(
        self, channel: str, thread: str, message: OutboundMessage, *, ticket: int | None = None
    ) -> DeliveryReceipt:
        """Post `message` in parts; a card's metadata names its ticket too, so that a reply
        in its thread finds the ticket before the desk has stored where the card went."""
        body = message.body
        if message.kind == MessageKind.NOTE:
            body = f"🔒 {message.author_name} (internal): {body}"
        elif message.author_name:
            body = f"**{message.author_name}:** {body}"
        head = mention(self._people(message.mentions))
        parts = split(await self._linked(mrkdwn(body), message))
        posted = await self._already_posted(channel, thread, message) if message.in_doubt else {}
        first_ts = posted.get(0, "")
        for index, part in enumerate(parts):
            if index in posted:
                continue
            text = f"{head} {part}" if head and index == 0 else part
            last = index == len(parts) - 1
            args: dict[str, Any] = {
                "channel": channel,
                "text": text,
                "unfurl_links": False,
                "metadata": {
                    "event_type": METADATA_TYPE,
                    "event_payload": {"outbox_id": message.id, "part": index},
                },
            }
            if ticket is not None:
                args["metadata"]["event_payload"]["ticket"] = ticket
            if thread:
                args["thread_ts"] = thread
            if last and (actions := slack_actions(message)):
                args["blocks"] = _text_and_buttons(text, actions)
            try:
                response = await self.client.chat_postMessage(**args)
            except SlackApiError as error:
                if first_ts:  # earlier parts are in Slack: the next attempt looks for them
                    raise _delivery_error(error, in_doubt=True) from error
                raise
            first_ts = first_ts or str(response["ts"])
            channel = str(response.get("channel") or channel)  # a user id resolves to the DM
        return DeliveryReceipt(first_ts, channel, thread or first_ts)

    async def _share(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        """The message's files, with its text as their comment, where its text would go."""
        if message.audience is Audience.CUSTOMER:
            channel, thread = message.channel, message.thread
        elif message.audience is Audience.LEADS:
            channel, thread = self.settings.leads_channel, ""
        elif ticket is None:
            raise DeliveryError("staff message without a ticket", permanent=True)
        else:
            channel = ticket.staff_channel or self.settings.staff_channel
            thread = ticket.staff_thread
        head = mention(self._people(message.mentions))
        comment = await self._linked(mrkdwn(message.body), message)
        return await share_files(
            self.client,
            channel,
            thread,
            f"{head} {comment}" if head else comment,
            files_of(message),
            message,
            self.settings.rate_scale,
        )

    async def _already_posted(
        self, channel: str, thread: str, message: OutboundMessage
    ) -> dict[int, str]:
        """The parts of this outbox message that Slack already has: part -> ts."""
        oldest = message.created_at.timestamp() - _LOOKBACK_SECONDS if message.created_at else 0
        found: dict[int, str] = {}
        cursor = ""
        while True:
            args: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": 200}
            if cursor:
                args["cursor"] = cursor
            if thread:
                page = await self.client.conversations_replies(ts=thread, **args)
            else:
                page = await self.client.conversations_history(oldest=f"{oldest:.6f}", **args)
            for posted in page.get("messages") or []:
                meta = posted.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == METADATA_TYPE and payload.get("outbox_id") == (
                    message.id
                ):
                    found[int(payload.get("part", 0))] = str(posted["ts"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        if found:
            log.info("outbox message %s was already in Slack: parts %s", message.id, sorted(found))
        return found

    def _people(self, mentions: list[str]) -> list[str]:
        """User ids, with the core's group tokens made into a user group (or @here)."""
        group = {STAFF_GROUP: self.settings.staff_group, LEADS_GROUP: ""}
        return [
            (f"!subteam^{group[m]}" if group[m] else "!here") if m in group else m for m in mentions
        ]

    async def _linked(self, text: str, message: OutboundMessage) -> str:
        """Ticket references become links to their staff threads (Slack makes the URL)."""
        links: dict[str, list[str]] = message.data.get("links", {})
        urls: dict[str, str] = {}
        for number in linked_numbers(text):
            channel, thread = (links.get(number) or ["", ""])[:2]
            if channel and thread and number not in urls:
                if (url := self._permalinks.get((channel, thread))) is not None:
                    urls[number] = url
                    continue
                try:
                    found = await self.client.chat_getPermalink(channel=channel, message_ts=thread)
                except SlackApiError:
                    log.warning("no permalink for ticket #%s; it is shown without a link", number)
                    continue
                urls[number] = self._permalinks[channel, thread] = str(found["permalink"])
                while len(self._permalinks) > PERMALINKS_KEPT:  # the oldest go first
                    del self._permalinks[next(iter(self._permalinks))]
        return resolve_ticket_links(text, lambda n: f"<{urls[n]}|#{n}>" if n in urls else f"#{n}")

    async def _react(self, channel: str, ts: str, name: str) -> None:
        # idempotent: a reaction that is already there is what we wanted
        try:
            await self.client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as error:
            if error.response.get("error") != "already_reacted":
                raise


def _text_and_buttons(text: str, actions: list[Action]) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [button(a) for a in actions[:25]]},
    ]


def _fallback(message: OutboundMessage) -> str:
    """Notification and screen-reader text for block messages."""
    first = message.body.strip().splitlines()[0] if message.body.strip() else ""
    return mrkdwn(first)[:300]


def _delivery_error(error: SlackApiError, *, in_doubt: bool = False) -> DeliveryError:
    response = error.response
    code = str(response.get("error") or f"http {response.status_code}")
    wait = retry_after(error)
    if wait is not None:
        return DeliveryError(f"rate limited by Slack ({code})", retry_after=wait, in_doubt=in_doubt)
    maybe_posted = in_doubt or code in _MAYBE_POSTED or response.status_code >= 500
    return DeliveryError(f"Slack said {code}", permanent=code in _PERMANENT, in_doubt=maybe_posted)


async def card_ticket(client: AsyncWebClient, channel: str, thread: str) -> int | None:
    """The ticket whose card starts `thread`, from the card's own metadata; None when the
    thread is not under a card of ours."""
    page = await client.conversations_history(
        channel=channel, latest=thread, inclusive=True, limit=1, include_all_metadata=True
    )
    for posted in page.get("messages") or []:
        meta = posted.get("metadata") or {}
        number = str((meta.get("event_payload") or {}).get("ticket", ""))
        if posted.get("ts") == thread and meta.get("event_type") == METADATA_TYPE:
            return int(number) if number.isdigit() else None
    return None
