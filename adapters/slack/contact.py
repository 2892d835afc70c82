"""Contact support: a customer's own way to open a ticket on Slack, from the App Home tab (its
button) or from the *Create ticket* shortcut used by someone who is not staff (when the desk
has categories; the message fills in the description).

The form is picked, filled in and submitted (see contact_views.py); the ticket opens from the
customer in their DM with the bot, where the acknowledgement and the whole conversation go.
Views are opened, updated and published through the paced client, by their tiers."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.intake_forms import OTHER, filled_in, find
from adapters.slack.contact_views import (
    CATEGORY,
    CONTACT_BUTTON,
    CONTACT_FORM,
    DESCRIPTION,
    HOME_VIEW,
    contact_form,
    home_view,
    notice_view,
    picked_in,
    question_block,
    typed_in,
)
from adapters.slack.people import PLATFORM, People
from bot import commands as c
from bot.model import Source
from bot.ports import DeskPort, Outcome, StorageOutage

log = logging.getLogger(__name__)
_TROUBLE = (SlackApiError, aiohttp.ClientError, TimeoutError, OSError)
_ERROR_CHARS = 150  # what Slack shows under a field


class ContactSupport:
    def __init__(self, desk: DeskPort, people: People) -> None:
        self.desk = desk
        self.people = people

    def register(self, app: AsyncApp, lazy: Any, ack: Any) -> None:
        """`lazy` wraps work Bolt runs after the acknowledgement `ack`."""
        app.event("app_home_opened")(ack=ack, lazy=[lazy(self._home_opened)])
        app.action(CONTACT_BUTTON)(ack=ack, lazy=[lazy(self._contact_pressed)])
        app.action(CATEGORY)(ack=ack, lazy=[lazy(self._category_picked)])
        # answered when the ticket is open, so a refusal shows in the form itself
        app.view(CONTACT_FORM)(self.on_contact_form)

    async def _home_opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") != "home":
            return
        user = str(event["user"])
        home = home_view(self.desk, await self.people.locale(user))
        shown = event.get("view") or {}
        if (shown.get("callback_id"), shown.get("private_metadata")) == (
            HOME_VIEW,
            home["private_metadata"],
        ):
            return  # the tab shows this already
        try:
            await client.views_publish(user_id=user, view=home)
        except _TROUBLE as error:
            log.warning("slack: could not publish the Home tab of %s: %s", user, _said(error))

    async def _contact_pressed(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        await self._open(client, body["trigger_id"], body["user"]["id"], "")

    async def open_form(self, client: AsyncWebClient, shortcut: dict[str, Any], text: str) -> None:
        """The form for whoever used the shortcut, the message's text as the description."""
        await self._open(client, shortcut["trigger_id"], shortcut["user"]["id"], text)

    async def _open(self, client: AsyncWebClient, trigger: str, user: str, text: str) -> None:
        form = contact_form(self.desk, await self.people.locale(user), description=text)
        try:
            await client.views_open(trigger_id=trigger, view=form)
        except _TROUBLE as error:  # the button stays; pressing it again opens a new form
            log.warning("slack: could not open the Contact support form: %s", _said(error))

    async def _category_picked(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        view = body["view"]
        picked = str((action.get("selected_option") or {}).get("value", ""))
        locale = await self.people.locale(body["user"]["id"])
        try:
            await client.views_update(
                view_id=view["id"],
                hash=view.get("hash"),
                view=contact_form(self.desk, locale, picked),
            )
        except SlackApiError as error:
            if error.response.get("error") != "hash_conflict":  # else a later pick's is due
                log.warning("slack: could not update the Contact support form: %s", _said(error))
        except _TROUBLE as error:
            log.warning("slack: could not update the Contact support form: %s", _said(error))

    async def on_contact_form(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = str(body["user"]["id"])
        locale = await self.people.locale(user)
        values: dict[str, Any] = view["state"]["values"]
        picked = picked_in(values)
        choice = find(self.desk, picked, locale) if picked and picked != OTHER else None
        blocks = (
            [question_block(choice.name, i) for i in range(len(choice.questions))] if choice else []
        )
        if any(block not in values for block in blocks):
            # submitted before the form showed the category's questions: show them first
            await ack(response_action="update", view=contact_form(self.desk, locale, picked))
            return
        filled = filled_in(
            choice, [typed_in(values, b) for b in blocks], typed_in(values, DESCRIPTION)
        )
        try:
            dm = await client.conversations_open(users=user)
            channel = str(dm["channel"]["id"])
        except _TROUBLE as error:
            log.warning("slack: could not open a DM with %s: %s", user, _said(error))
            await self._not_now(ack, locale)
            return
        customer = await self.people.person(user)
        team = str((body.get("team") or {}).get("id") or body["user"].get("team_id", ""))
        command = c.OpenTicket(
            customer,
            Source(PLATFORM, team, channel, "", True),
            filled.text,
            subject=filled.subject,
            locale=locale,
            category=choice.name if choice else "",
            answers=filled.answers,
            timezone=await self.people.timezone(user),
        )
        try:
            # a form submitted again (after a timeout, say) opens no second ticket
            outcome = await self.desk.handle(command, c.Caller(customer, event_id=_event(view)))
        except StorageOutage as outage:
            log.warning("slack: a Contact support form was not kept: %s", outage)
            await self._not_now(ack, locale)
            return
        await self._answer(ack, locale, outcome)

    async def _answer(self, ack: Any, locale: str, outcome: Outcome) -> None:
        if outcome.ok:  # the form closes; the acknowledgement arrives in the customer's DM
            await ack()
            return
        await ack(response_action="update", view=notice_view(self.desk, locale, outcome.text))

    async def _not_now(self, ack: Any, locale: str) -> None:
        """Nothing was kept: the form stays open, with what was typed, to be sent again."""
        text = self.desk.text("try_again", locale)[:_ERROR_CHARS]
        await ack(response_action="errors", errors={DESCRIPTION: text})


def _event(view: dict[str, Any]) -> str:
    return f"view:{view['id']}"  # a view's id stays the same however often it is submitted


def _said(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return str(error) or type(error).__name__
