"""The panel's "Open a ticket": a form, or first a pick of the intake categories.

Ids carry everything, so a panel or a picker posted before a restart keeps working: the
button is `panel:open`, the picker `panel:category` (its value a category's name, or
"Something else"), the forms `panel_form` (general: subject and description) and
`panel_form:<category>`. Each category form holds the category's questions, then the
description while there is room (Discord allows a form five fields); see
adapters/intake_forms.py for how it becomes a ticket."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.deliver import PLATFORM
from adapters.intake_forms import (
    ANSWER_CHARS,
    OTHER,
    Filled,
    filled_in,
    find,
    shown,
)
from bot import commands as c
from bot.model import Person, Source
from bot.ports import CategoryChoice, DeskPort, Outcome

PANEL_BUTTON = "panel:open"
PANEL_PICK = "panel:category"
PANEL_FORM = "panel_form"
_FIELDS = 5  # what a Discord form holds
_OPTIONS = 25  # what a select menu holds
_TITLE = 45
_CUSTOM_EMOJI = re.compile(r"<a?:\w+:\d+>")
# forms a customer opened and left are forgotten after this; a late submission still works,
# as it is read from its id
_FORM_SECONDS = 30 * 60


class Panel:
    def __init__(
        self,
        desk: DeskPort,
        timely: Callable[[discord.Interaction, Awaitable[Outcome]], Awaitable[Outcome]],
        tell: Callable[[discord.Interaction, str], Awaitable[None]],
    ) -> None:
        self.desk = desk
        self.timely = timely
        self.tell = tell

    async def pressed(self, interaction: discord.Interaction) -> None:
        """The panel's button: the general form, or the categories to pick from."""
        locale = str(interaction.locale.value)
        choices = self.desk.categories(locale)
        if not choices:
            await interaction.response.send_modal(general_form(self.desk, locale))
            return
        await interaction.response.send_message(
            view=picker(self.desk, choices, locale),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def picked(self, interaction: discord.Interaction, values: list[str]) -> None:
        locale = str(interaction.locale.value)
        choice = find(self.desk, values[0], locale) if values else None
        form = category_form(self.desk, choice, locale) if choice else None
        await interaction.response.send_modal(form or general_form(self.desk, locale))

    async def submitted(
        self, interaction: discord.Interaction, custom_id: str, values: dict[str, str]
    ) -> None:
        """A panel form: a ticket for whoever filled it in, answered in their DMs."""
        locale = str(interaction.locale.value)
        _, _, name = custom_id.partition(":")
        if name:
            choice = find(self.desk, name, locale)
            answers = [values[f"q{i}"] for i in range(_FIELDS) if f"q{i}" in values]
            filled = filled_in(choice, answers, values.get("description", ""))
        else:
            choice = None
            filled = Filled(values.get("description", ""), values.get("subject", ""), ())
        customer = Person(PLATFORM, str(interaction.user.id), interaction.user.display_name)
        dm = await interaction.user.create_dm()
        source = Source(PLATFORM, str(interaction.guild_id or ""), str(dm.id), "", True)
        command = c.OpenTicket(
            customer,
            source,
            filled.text,
            subject=filled.subject,
            locale=locale,
            category=choice.name if choice else "",
            answers=filled.answers,
        )
        caller = c.Caller(customer, event_id=f"interaction:{interaction.id}")
        outcome = await self.timely(interaction, self.desk.handle(command, caller))
        text = (
            self.desk.text("panel_opened", locale, number=outcome.ticket_number)
            if outcome.ok and outcome.ticket_number
            else outcome.text
        )
        await self.tell(interaction, text)


def picker(desk: DeskPort, choices: list[CategoryChoice], locale: str) -> discord.ui.View:
    options = [
        discord.SelectOption(label=choice.label[:100], value=choice.name, emoji=_emoji(choice))
        for choice in choices[: _OPTIONS - 1]
    ]
    options.append(
        discord.SelectOption(label=desk.text("category_other", locale)[:100], value=OTHER)
    )
    view = discord.ui.View(timeout=None)  # ephemeral: discord.py lets it go after 15 minutes
    view.add_item(
        discord.ui.Select(
            custom_id=PANEL_PICK,
            placeholder=desk.text("category_prompt", locale)[:150],
            options=options,
        )
    )
    return view


def general_form(desk: DeskPort, locale: str) -> discord.ui.Modal:
    title = desk.text("button_open_ticket", locale)
    modal = discord.ui.Modal(title=title[:_TITLE], custom_id=PANEL_FORM, timeout=_FORM_SECONDS)
    subject = desk.text("form_subject", locale)
    modal.add_item(discord.ui.TextInput(label=subject[:_TITLE], custom_id="subject", max_length=80))
    modal.add_item(_description(desk, locale))
    return modal


def category_form(desk: DeskPort, choice: CategoryChoice, locale: str) -> discord.ui.Modal:
    """The category's questions first, then the description if a field is left."""
    modal = discord.ui.Modal(
        title=shown(choice)[:_TITLE],
        custom_id=f"{PANEL_FORM}:{choice.name}",
        timeout=_FORM_SECONDS,
    )
    for i, question in enumerate(choice.questions[:_FIELDS]):
        modal.add_item(
            discord.ui.TextInput(
                label=question[:_TITLE], custom_id=f"q{i}", max_length=ANSWER_CHARS
            )
        )
    if len(choice.questions) < _FIELDS:
        modal.add_item(_description(desk, locale))
    return modal


def _description(desk: DeskPort, locale: str) -> discord.ui.TextInput[Any]:
    label = desk.text("form_description", locale)
    return discord.ui.TextInput(
        label=label[:_TITLE],
        custom_id="description",
        style=discord.TextStyle.paragraph,
        max_length=4000,
    )


def _emoji(choice: CategoryChoice) -> str | None:
    """A Unicode or custom emoji; Discord refuses a select whose emoji is anything else (a
    Slack-style `:shortcode:`, say), so such a one is left out."""
    emoji = choice.emoji.strip()
    if _CUSTOM_EMOJI.fullmatch(emoji) or (emoji and not emoji.isascii()):
        return emoji
    return None
