"""Buttons, menus and forms. Custom ids (`ticket:claim:42`, `csat:5:42`) carry everything needed,
so cards posted before a restart keep working: nothing is looked up in memory. The panel's own
(`panel:open` and what follows it) are in panel.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

import discord

from adapters.discord.deliver import PLATFORM
from adapters.discord.panel import PANEL_BUTTON, PANEL_FORM, PANEL_PICK, Panel
from bot import commands as c
from bot.buttons import UnknownButton, command_for_button
from bot.durations import BadDuration, parse_duration
from bot.model import Person
from bot.ports import DeskPort, Outcome

log = logging.getLogger(__name__)
ESCALATE_FORM = "ticket_escalate"
CLOSE_FORM = "ticket_close"
_SELECT = 3  # a component interaction's component_type for a select menu of texts


class Interactions:
    def __init__(
        self,
        desk: DeskPort,
        staff_role: int,
        lead_role: int,
        defer_after: float = 2.0,
        team_roles: Mapping[str, int] | None = None,
    ) -> None:
        self.defer_after = defer_after
        self.desk = desk
        self.staff_role = staff_role
        self.lead_role = lead_role
        self.team_roles = dict(team_roles or {})  # team -> the role of its members
        self.panel = Panel(desk, self.timely, self.tell)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.component:
            if data.get("component_type") == _SELECT:
                if custom_id == PANEL_PICK:
                    await self.panel.picked(interaction, [str(v) for v in data.get("values", [])])
                return
            await self._button(interaction, custom_id)
        elif interaction.type is discord.InteractionType.modal_submit:
            await self._form(interaction, custom_id, _form_values(data))

    async def _button(self, interaction: discord.Interaction, custom_id: str) -> None:
        kind, _, rest = custom_id.partition(":")
        if custom_id == PANEL_BUTTON:
            await self.panel.pressed(interaction)
            return
        if kind in ("csat", "checkin", "transcript", "kb"):  # the customer's own, in DMs
            command = command_for_button(custom_id)
            await interaction.response.defer()  # the thanks arrive as a DM of their own
            caller = c.Caller(_person(interaction.user), locale=str(interaction.locale.value))
            outcome = await self.desk.handle(command, caller)
            if not outcome.ok and outcome.text:  # e.g. a button of someone else's ticket
                await self.tell(interaction, outcome.text)
            return
        if kind not in ("ticket", "followup"):
            return  # not ours
        caller = self.caller(interaction)
        verb, _, number = rest.partition(":")
        if not caller.is_staff:
            await self.tell(interaction, self.desk.text("not_staff"))
            return
        if kind == "ticket" and verb in ("escalate", "close") and number.isdigit():
            await interaction.response.send_modal(_modal(verb, int(number), self.desk))
            return
        try:
            command = command_for_button(custom_id)
        except UnknownButton:
            return
        outcome = await self.timely(interaction, self.desk.handle(command, caller))
        await self.tell(interaction, outcome.text)

    async def _form(
        self, interaction: discord.Interaction, custom_id: str, values: dict[str, str]
    ) -> None:
        if custom_id == PANEL_FORM or custom_id.startswith(f"{PANEL_FORM}:"):
            await self.panel.submitted(interaction, custom_id, values)
            return
        form, _, number_text = custom_id.partition(":")
        if form not in (ESCALATE_FORM, CLOSE_FORM) or not number_text.isdigit():
            return
        number, caller = int(number_text), self.caller(interaction)
        if form == ESCALATE_FORM:
            command: c.Command = c.EscalateTicket(
                values.get("team", "").strip().lower(), values.get("reason", ""), number
            )
            outcome = await self.timely(interaction, self.desk.handle(command, caller))
            await self.tell(interaction, outcome.text)
            return
        followup = values.get("followup", "").strip()
        try:
            delay = parse_duration(followup) if followup else None
        except BadDuration:
            await self.tell(
                interaction,
                f'"{followup}" is not a duration; write 30m, 4h, 3d or '
                "1w. The ticket is still open.",
            )
            return
        close = c.CloseTicket(values.get("resolution", ""), number, follow_up=delay)
        outcome = await self.timely(interaction, self.desk.handle(close, caller))
        await self.tell(interaction, outcome.text)

    def is_staff(self, user: discord.User | discord.Member) -> bool:
        roles = {r.id for r in user.roles} if isinstance(user, discord.Member) else set()
        return self.staff_role in roles

    def caller(self, interaction: discord.Interaction, in_ticket: int | None = None) -> c.Caller:
        member = interaction.user
        roles = {r.id for r in member.roles} if isinstance(member, discord.Member) else set()
        return c.Caller(
            _person(member),
            is_staff=self.is_staff(member),
            is_lead=bool(self.lead_role) and self.lead_role in roles,
            in_ticket=in_ticket,
            event_id=f"interaction:{interaction.id}",
            teams=teams_held(roles, self.team_roles),
            grouped_teams=frozenset(self.team_roles),
        )

    async def timely(self, interaction: discord.Interaction, work: Awaitable[Outcome]) -> Outcome:
        """Discord wants an answer within 3 seconds: when the desk is slower than
        `defer_after`, say "thinking" first and answer when it is done."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done and not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        return await task

    async def tell(self, interaction: discord.Interaction, text: str) -> None:
        if interaction.response.is_done():  # deferred: the answer follows up
            await interaction.followup.send(
                text or "✓", ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        await interaction.response.send_message(
            text or "✓", ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


def _modal(verb: str, number: int, desk: DeskPort) -> discord.ui.Modal:
    form = ESCALATE_FORM if verb == "escalate" else CLOSE_FORM
    modal = discord.ui.Modal(
        title=f"{verb.capitalize()} ticket #{number}", custom_id=f"{form}:{number}"
    )
    if form == ESCALATE_FORM:
        modal.add_item(
            discord.ui.TextInput(label="Team", custom_id="team", placeholder=", ".join(desk.teams))
        )
        modal.add_item(
            discord.ui.TextInput(
                label="Reason",
                custom_id="reason",
                required=False,
                style=discord.TextStyle.paragraph,
            )
        )
    else:
        modal.add_item(
            discord.ui.TextInput(
                label="Resolution",
                custom_id="resolution",
                required=False,
                style=discord.TextStyle.paragraph,
            )
        )
        modal.add_item(
            discord.ui.TextInput(
                label="Follow up in (e.g. 3d)", custom_id="followup", required=False
            )
        )
    return modal


def _form_values(data: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for row in data.get("components", []):
        for item in row.get("components", []) or [row.get("component", {})]:
            if item.get("custom_id"):
                values[str(item["custom_id"])] = str(item.get("value") or "")
    return values


def teams_held(roles: Iterable[int], team_roles: Mapping[str, int]) -> frozenset[str]:
    """The teams whose role is among `roles` (a member's role ids, as Discord sent them)."""
    held = set(roles)
    return frozenset(team for team, role in team_roles.items() if role in held)


def _person(user: discord.abc.User) -> Person:
    return Person(PLATFORM, str(user.id), user.display_name)
