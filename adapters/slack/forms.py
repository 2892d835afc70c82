"""Buttons that open a form (Escalate, Close, Saved reply), the forms' submissions, and what
every agent-facing listener needs: who the caller is, and the truth when the database could
not take their command."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import (
    CLOSE_FORM,
    ESCALATE_FORM,
    SNIPPET_BUTTON,
    SNIPPET_FORM,
    close_form,
    escalate_form,
    form_value,
    snippet_form,
)
from adapters.slack.people import People
from adapters.slack.settings import SlackSettings
from adapters.slack.text import mrkdwn
from bot import commands as c
from bot.durations import BadDuration, parse_duration
from bot.model import Person
from bot.ports import DeskPort, Outcome, StorageOutage

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class FormListeners:
    def __init__(self, desk: DeskPort, settings: SlackSettings, people: People) -> None:
        self.desk = desk
        self.settings = settings
        self.people = people

    def register_forms(self, app: AsyncApp, lazy: Any, ack: Any) -> None:
        """`lazy` wraps work Bolt runs after the acknowledgement `ack`."""
        app.action(re.compile(r"^ticket:(escalate|close):\d+$"))(
            ack=ack, lazy=[lazy(self._form_button)]
        )
        app.action(re.compile(rf"^{SNIPPET_BUTTON}:\d+$"))(
            ack=ack, lazy=[lazy(self._snippet_button)]
        )
        app.view(ESCALATE_FORM)(self.on_escalate_form)
        app.view(CLOSE_FORM)(self.on_close_form)
        # the form closes at once; the reply is sent and its outcome told after
        app.view(SNIPPET_FORM)(ack=ack, lazy=[lazy(self._snippet_sent)])

    async def _refused(self, user: str, respond: Any) -> bool:
        """Only staff open forms; anyone else is told so, and nothing opens."""
        if await self.people.is_staff(user):
            return False
        refusal = self.desk.text("not_staff")
        await respond(text=refusal, response_type="ephemeral", replace_original=False)
        return True

    async def _form_button(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        _, verb, number = action["action_id"].split(":")
        if await self._refused(body["user"]["id"], respond):
            return
        # in the staff's language, as the card the button is on
        make = escalate_form if verb == "escalate" else close_form
        form = make(self.desk, int(number))
        await client.views_open(trigger_id=body["trigger_id"], view=form)

    async def _snippet_button(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        number = int(action["action_id"].rsplit(":", 1)[1])
        if await self._refused(body["user"]["id"], respond):
            return
        # Slack's trigger lasts 3 seconds: the names are one query, taken before it is used
        names = await self.desk.snippet_names()
        channel = str((body.get("channel") or {}).get("id") or self.settings.staff_channel)
        form = snippet_form(self.desk, number, names, channel)
        await client.views_open(trigger_id=body["trigger_id"], view=form)

    async def on_escalate_form(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = json.loads(view["private_metadata"])["number"]
        command = c.EscalateTicket(form_value(view, "team"), form_value(view, "reason"), number)
        caller = await self._caller(body["user"]["id"], None)
        outcome = await self._kept_or_retry(self.desk.handle(command, caller))
        await ack(
            **(
                {}
                if outcome.ok
                else {"response_action": "errors", "errors": {"team": outcome.text[:150]}}
            )
        )

    async def on_close_form(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = json.loads(view["private_metadata"])["number"]
        followup = form_value(view, "followup").strip()
        try:
            delay = parse_duration(followup) if followup else None
        except BadDuration:
            await ack(
                response_action="errors",
                errors={"followup": self.desk.text("staff_form_bad_followup")},
            )
            return
        caller = await self._caller(body["user"]["id"], None)
        close = c.CloseTicket(form_value(view, "resolution"), number, follow_up=delay)
        outcome = await self._kept_or_retry(self.desk.handle(close, caller))
        if not outcome.ok:
            await ack(response_action="errors", errors={"resolution": outcome.text[:150]})
            return
        await ack()

    async def _snippet_sent(
        self, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The same `/ticket send` as typed, so it is refused and recorded the same way; the
        agent reads the outcome, whole, where they pressed the button."""
        meta = json.loads(view["private_metadata"])
        name = form_value(view, "snippet")
        user = body["user"]["id"]
        caller = await self._caller(user, None)
        outcome = await self._kept_or_retry(
            self.desk.handle_text(f"/ticket send {name} #{meta['number']}", caller)
        )
        channel = str(meta.get("channel") or self.settings.staff_channel)
        await client.chat_postEphemeral(channel=channel, user=user, text=mrkdwn(outcome.text))

    # --- helpers ------------------------------------------------------------------------

    async def _kept_or_retry(self, work: Awaitable[Outcome]) -> Outcome:
        """An agent's command, or the truth when the database could not take it: Slack does
        not redeliver commands and button presses, so the agent is asked to try again."""
        try:
            return await work
        except StorageOutage as outage:
            log.warning("slack: an agent's command was not carried out: %s", outage)
            return Outcome(self.desk.text("try_again"), False)

    async def _caller(
        self, user: str, number: int | None, text: str = "", event_id: str = ""
    ) -> c.Caller:
        mentions: dict[str, Person] = {}
        staff: set[str] = set()
        for match in MENTION.finditer(text):
            person = mentions[match.group(0)] = await self.people.person(match.group(1))
            if await self.people.is_staff(match.group(1)):
                staff.add(person.ref)
        return c.Caller(
            await self.people.person(user),
            is_staff=await self.people.is_staff(user),
            is_lead=await self.people.is_lead(user),
            in_ticket=number,
            event_id=event_id,
            mentions=mentions,
            mentioned_staff=frozenset(staff),
        )
