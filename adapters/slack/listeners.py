"""Inbound: Slack events, commands, buttons, forms and shortcuts -> desk commands.

Bolt runs with process_before_response, so an event is stored by the desk before Slack gets
its acknowledgement. When the database cannot take it, the listener raises: Bolt answers 500
(HTTP) and the envelope goes unacknowledged (Socket Mode), and Slack delivers it again."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.channels import HelpChannels
from adapters.slack.contact import ContactSupport
from adapters.slack.deliver import card_ticket
from adapters.slack.forms import MENTION, FormListeners
from adapters.slack.people import PLATFORM, People
from adapters.slack.settings import SlackSettings
from adapters.slack.text import mrkdwn
from bot import commands as c
from bot.buttons import command_for_button
from bot.model import Attachment, Source
from bot.ports import DeskPort, Outcome, StorageOutage

log = logging.getLogger(__name__)

_MESSAGE_SUBTYPES = {None, "file_share", "thread_broadcast"}  # what people write


class NotTakenYet(Exception):
    """An event that cannot be worked now (Slack did not answer a question about it); left
    unacknowledged, it comes again."""


class Listeners(FormListeners):
    def __init__(
        self, desk: DeskPort, settings: SlackSettings, people: People, help_channels: HelpChannels
    ) -> None:
        super().__init__(desk, settings, people)
        self.help_channels = help_channels
        self.contact = ContactSupport(desk, people)
        self._working: set[asyncio.Task[Any] | None] = set()
        # staff threads that are not under a card: asked about once, not at every message
        self._not_cards: deque[str] = deque(maxlen=1000)

    def register(self, app: AsyncApp) -> None:
        app.error(self.on_error)
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_mention)
        # commands and button presses: acknowledged at once, worked by Bolt's lazy listeners
        # (Slack does not retry them, unlike events, which are stored before the ack)
        lazy = self._lazy
        app.command("/ticket")(ack=_ack, lazy=[lazy(self._command)])
        buttons = (r"^ticket:(claim|reopen):\d+$", r"^followup:(checkin|snooze|done):\d+$")
        for pattern in buttons:
            app.action(re.compile(pattern))(ack=_ack, lazy=[lazy(self._ticket_button)])
        self.register_forms(app, lazy, _ack)
        for pattern in (
            r"^csat:(\d|help):\d+$",
            r"^kb:(solved|help):\d+$",  # under the articles a new ticket is offered
            r"^checkin:(good|trouble):\d+$",
            r"^transcript:send:\d+$",
        ):
            app.action(re.compile(pattern))(ack=_ack, lazy=[lazy(self._rating)])
        app.shortcut("create_ticket")(ack=_ack, lazy=[lazy(self._create_ticket)])
        self.contact.register(app, lazy, _ack)

    async def on_error(self, error: Exception) -> None:
        """Bolt answers 500 (or leaves the envelope unacknowledged) either way; an outage is
        one line for the operator, a bug keeps its traceback."""
        if isinstance(error, StorageOutage | NotTakenYet):
            log.warning("slack: an event was not stored; Slack will send it again: %s", error)
        else:
            log.error("slack: a listener failed", exc_info=error)

    def _lazy(self, work: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Bolt starts lazy work as a bare future; hold it so shutdown can wait for it."""

        @functools.wraps(work)  # Bolt reads the wrapped signature to pick the arguments
        async def tracked(*args: Any, **kwargs: Any) -> None:
            task = asyncio.current_task()
            self._working.add(task)
            try:
                await work(*args, **kwargs)
            finally:
                self._working.discard(task)

        return tracked

    async def settled(self) -> None:
        """Until every acknowledged command and button press has been worked."""
        await asyncio.sleep(0)  # work Bolt started in this very step gets to register
        while running := [task for task in self._working if task is not None]:
            await asyncio.gather(*running, return_exceptions=True)

    # --- messages -----------------------------------------------------------------------

    async def on_message(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        if event.get("subtype") not in _MESSAGE_SUBTYPES or event.get("bot_id"):
            return  # edits, deletions, joins and other bots never make tickets
        user, channel = event.get("user", ""), event["channel"]
        ts, thread = event["ts"], event.get("thread_ts", "")
        text, files = event.get("text", ""), _attachments(event)
        event_id = str(body.get("event_id", ""))
        if channel == self.settings.staff_channel:
            bot_user = context.get("bot_user_id") or ""
            if thread and thread != ts and f"<@{bot_user}>" not in text:
                await self._agent_wrote(client, user, channel, thread, ts, text, files, event_id)
            return
        if event.get("channel_type") == "im":
            source = Source(PLATFORM, body.get("team_id", ""), channel, "", True)
        elif await self._helps(channel, str(event.get("channel_type", ""))):
            # staff answer from the ticket's staff thread, not here; and in the channels the
            # bot is merely in (auto), staff talk among the members
            in_thread = bool(thread) and thread != ts
            if (in_thread or self.help_channels.auto) and await self.people.is_staff(user):
                return
            source = Source(PLATFORM, body.get("team_id", ""), channel, thread or ts, False)
        else:
            return
        customer = await self.people.person(user)
        locale = await self.people.locale(user)
        zone = await self.people.timezone(user)
        outcome = await self.desk.handle(
            c.RelayCustomerMessage(customer, source, text, locale, files, zone),
            c.Caller(customer, event_id=event_id),
        )
        if not outcome.ok and outcome.text:
            await client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=mrkdwn(outcome.text),
                thread_ts=source.thread or None,
            )

    async def _helps(self, channel: str, kind: str) -> bool:
        try:
            return await self.help_channels.covers(channel, kind)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as error:
            # the event is not acknowledged, so Slack delivers it again: nothing is lost
            raise NotTakenYet(f"cannot read the bot's channels: {error}") from None

    async def _agent_wrote(
        self,
        client: AsyncWebClient,
        user: str,
        channel: str,
        thread: str,
        ts: str,
        text: str,
        files: tuple[Attachment, ...],
        event_id: str,
    ) -> None:
        number = await self.desk.ticket_in_thread(PLATFORM, thread)
        if number is None:
            # the card may be in Slack before the desk stored where it went (another process
            # posts it, or its answer was lost): the card's metadata names the ticket
            number = await self._card_ticket(client, channel, thread)
        if number is None:
            return  # staff talking in a thread of their own
        # a relay needs no teams: no user group is asked on the way to the acknowledgement
        caller = await self._caller(user, number, event_id=event_id, teams=False)
        outcome = await self.desk.handle(
            c.RelayAgentMessage(number, text, files, source_message_id=ts), caller
        )
        if not outcome.ok:
            await client.chat_postEphemeral(
                channel=channel, user=user, text=mrkdwn(outcome.text), thread_ts=thread
            )

    async def _card_ticket(self, client: AsyncWebClient, channel: str, thread: str) -> int | None:
        if thread in self._not_cards:
            return None
        try:
            number = await card_ticket(client, channel, thread)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as error:
            # the event is not acknowledged, so Slack delivers it again: nothing is lost
            raise NotTakenYet(f"cannot read the thread's card: {error}") from None
        if number is None:
            self._not_cards.append(thread)
        return number

    async def on_mention(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """`@supportbot claim` inside a ticket thread: no number needed."""
        channel, thread = event["channel"], event.get("thread_ts", "")
        number = await self.desk.ticket_in_thread(PLATFORM, thread) if thread else None
        text = MENTION.sub("", event.get("text", ""), count=1).strip()
        caller = await self._caller(
            event["user"], number, text, event_id=str(body.get("event_id", ""))
        )
        outcome = await self.desk.handle_text(text, caller)
        if outcome.text:
            await client.chat_postEphemeral(
                channel=channel,
                user=event["user"],
                text=mrkdwn(outcome.text),
                thread_ts=thread or None,
            )

    # --- commands, buttons, forms -------------------------------------------------------

    async def _caller(
        self,
        user: str,
        number: int | None,
        text: str = "",
        event_id: str = "",
        *,
        teams: bool = True,
    ) -> c.Caller:
        """Who is asking, with the teams whose user group (SLACK_TEAM_GROUPS) has them."""
        caller = await super()._caller(user, number, text, event_id)
        groups = self.settings.team_groups
        if not groups:
            return caller
        caller = dataclasses.replace(caller, grouped_teams=frozenset(groups))
        if not (teams and caller.is_staff):
            return caller
        return dataclasses.replace(caller, teams=await self.people.teams_of(user, groups))

    async def _command(self, command: dict[str, Any], respond: Any) -> None:
        text = command.get("text", "")
        caller = await self._caller(command["user_id"], None, text)
        outcome = await self._kept_or_retry(self.desk.handle_text(text, caller))
        await respond(text=mrkdwn(outcome.text), response_type="ephemeral")

    async def _ticket_button(
        self, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        caller = await self._caller(body["user"]["id"], None)
        outcome = await self._kept_or_retry(
            self.desk.handle(command_for_button(action["action_id"]), caller)
        )
        if outcome.text:
            await respond(
                text=mrkdwn(outcome.text), response_type="ephemeral", replace_original=False
            )

    async def _rating(self, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        user = body["user"]["id"]
        customer = await self.people.person(user)
        command = command_for_button(action["action_id"])
        locale = await self.people.locale(user)
        try:
            outcome = await self.desk.handle(command, c.Caller(customer, locale=locale))
            if not outcome.ok and outcome.text:  # e.g. a button of someone else's ticket
                await respond(
                    text=mrkdwn(outcome.text), response_type="ephemeral", replace_original=False
                )
        except StorageOutage as outage:
            log.warning("slack: a customer's button press was not recorded: %s", outage)
            text = self.desk.text("press_again", locale)
            await respond(text=text, response_type="ephemeral", replace_original=False)

    async def _create_ticket(self, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        """Message shortcut: turn any message into a ticket on behalf of its author."""
        message, channel = shortcut["message"], shortcut["channel"]["id"]
        caller = await self._caller(shortcut["user"]["id"], None)
        author = await self.people.person(message.get("user", ""))
        source = Source(
            PLATFORM,
            shortcut.get("team", {}).get("id", ""),
            channel,
            message.get("thread_ts") or message["ts"],
            False,
        )
        if not caller.is_staff and self.desk.categories():
            # a customer's own way in: the Contact support form, with the message in it
            await self.contact.open_form(client, shortcut, message.get("text", ""))
            return
        if not caller.is_staff:
            outcome = Outcome(self.desk.text("not_staff"), False)
        else:
            outcome = await self._kept_or_retry(
                self.desk.handle(
                    c.OpenTicket(
                        author,
                        source,
                        message.get("text", ""),
                        locale=await self.people.locale(author.user_id),
                        attachments=_attachments(message),
                        timezone=await self.people.timezone(author.user_id),
                    ),
                    caller,
                )
            )
        await client.chat_postEphemeral(
            channel=channel, user=caller.actor.user_id, text=mrkdwn(outcome.text)
        )


def _attachments(event: dict[str, Any]) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            str(f.get("name") or f.get("title") or "file"),
            str(f.get("permalink") or f.get("url_private") or ""),
        )
        for f in event.get("files", [])
    )


async def _ack(ack: Any) -> None:
    await ack()
