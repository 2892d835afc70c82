"""Outbound: outbox messages to Slack Web API calls. Failures become DeliveryErrors that the
outbox sender retries (honouring Retry-After) or reports."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import button, message_blocks
from adapters.slack.settings import SlackSettings
from adapters.slack.text import mention, mrkdwn, split
from adapters.text import linked_numbers, resolve_ticket_links
from bot.desk.context import LEADS_GROUP, STAFF_GROUP
from bot.model import Audience, OutboundMessage, Ticket
from bot.ports import DeliveryError, DeliveryReceipt

log = logging.getLogger(__name__)

PLATFORM = "slack"
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
}
DELIVERED = "white_check_mark"
INTERNAL = "lock"


class SlackDeliverer:
    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, settings: SlackSettings) -> None:
        self.client = client
        self.settings = settings
        self.has_leads_channel = bool(settings.leads_channel)

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        try:
            return await self._deliver(message, ticket)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"network: {type(error).__name__}") from error

    async def _deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        source_id = str(message.data.get("source_message_id", ""))
        if message.audience is Audience.CUSTOMER:
            receipt = await self._post(message.channel, message.thread, message)
            if message.kind == "agent_reply" and source_id and ticket:
                await self._react(ticket.staff_channel, source_id, DELIVERED)
            return receipt
        if message.audience is Audience.LEADS:
            return await self._post(self.settings.leads_channel, "", message)
        if message.kind == "card":
            return await self._post(self.settings.staff_channel, "", message)
        if ticket is None:
            raise DeliveryError("staff message without a ticket", permanent=True)
        if message.kind == "card_update":
            if not ticket.card_message_id:
                raise DeliveryError("the ticket card was never posted", permanent=True)
            await self.client.chat_update(
                channel=ticket.staff_channel,
                ts=ticket.card_message_id,
                text=_fallback(message),
                blocks=message_blocks(message.body, message.actions),
            )
            return DeliveryReceipt(ticket.card_message_id, ticket.staff_channel)
        if message.kind == "note" and source_id:
            # the agent's own message is already in the thread; just mark it internal
            await self._react(ticket.staff_channel, source_id, INTERNAL)
            return DeliveryReceipt(source_id, ticket.staff_channel)
        return await self._post(
            ticket.staff_channel or self.settings.staff_channel, ticket.staff_thread, message
        )

    async def _post(self, channel: str, thread: str, message: OutboundMessage) -> DeliveryReceipt:
        body = message.body
        if message.kind == "note":
            body = f"🔒 {message.author_name} (internal): {body}"
        elif message.author_name:
            body = f"**{message.author_name}:** {body}"
        head = mention(self._people(message.mentions))
        parts = split(await self._linked(mrkdwn(body), message))
        first_ts = ""
        for index, part in enumerate(parts):
            text = f"{head} {part}" if head and index == 0 else part
            last = index == len(parts) - 1
            args: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
            if thread:
                args["thread_ts"] = thread
            if last and message.actions:
                args["blocks"] = _text_and_buttons(text, message)
            response = await self.client.chat_postMessage(**args)
            first_ts = first_ts or str(response["ts"])
            channel = str(response.get("channel") or channel)  # a user id resolves to the DM
        return DeliveryReceipt(first_ts, channel, thread or first_ts)

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
                try:
                    found = await self.client.chat_getPermalink(channel=channel, message_ts=thread)
                    urls[number] = str(found["permalink"])
                except SlackApiError:
                    log.warning("no permalink for ticket #%s; it is shown without a link", number)
        return resolve_ticket_links(text, lambda n: f"<{urls[n]}|#{n}>" if n in urls else f"#{n}")

    async def _react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self.client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as error:
            if error.response.get("error") != "already_reacted":
                raise


def _text_and_buttons(text: str, message: OutboundMessage) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [button(a) for a in message.actions[:25]]},
    ]


def _fallback(message: OutboundMessage) -> str:
    """Notification and screen-reader text for block messages."""
    first = message.body.strip().splitlines()[0] if message.body.strip() else ""
    return mrkdwn(first)[:300]


def _delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    code = str(response.get("error") or f"http {response.status_code}")
    if response.status_code == 429 or code == "ratelimited":
        retry_after = float(
            response.headers.get("Retry-After", response.headers.get("retry-after", 1))
        )
        return DeliveryError(f"rate limited by Slack ({code})", retry_after=retry_after)
    return DeliveryError(f"Slack said {code}", permanent=code in _PERMANENT)
