"""`/ticket <subcommand>`: Discord's app commands on top of the one command language.

Every subcommand is turned back into `/ticket ...` text and run through the desk's parser,
so Discord, Slack and the shell accept exactly the same commands. Inside a ticket's forum
post no number is needed; elsewhere numbers autocomplete.

Discord allows a command 25 options, subcommands and groups alike, and one level of groups.
`/ticket` has 25, the most it can take: 23 subcommands, the `snippet` group (add, list,
remove), which makes the saved replies' three actions one option and gives each its own
required fields, and the `kb` group: the knowledge base's articles (search, send) and
earlier tickets like this one (similar, `/ticket similar` elsewhere). A new command joins a
group rather than adding an option."""

from __future__ import annotations

import dataclasses
from typing import Literal

import discord
from discord import app_commands

from adapters.discord.deliver import PLATFORM
from adapters.discord.interactions import Interactions
from adapters.discord.panel import PANEL_BUTTON
from adapters.discord.views import buttons
from bot import commands as c
from bot.model import Action, Person
from bot.ports import DeskPort
from bot.rendering import available_locales

Number = app_commands.Range[int, 1]


def ticket_commands(
    desk: DeskPort, interactions: Interactions, staff_forum: int
) -> app_commands.Group:
    group = app_commands.Group(name="ticket", description="Work support tickets")

    async def run(
        interaction: discord.Interaction,
        text: str,
        mentions: dict[str, Person] | None = None,
        mentioned_staff: frozenset[str] = frozenset(),
    ) -> None:
        number = None
        channel = interaction.channel
        if isinstance(channel, discord.Thread) and channel.parent_id == staff_forum:
            number = await desk.ticket_in_thread(PLATFORM, str(channel.id))
        caller = interactions.caller(interaction, in_ticket=number)
        if mentions:
            caller = dataclasses.replace(caller, mentions=mentions, mentioned_staff=mentioned_staff)
        outcome = await interactions.timely(
            interaction, desk.handle_text(f"/ticket {text}", caller)
        )
        await interactions.tell(interaction, outcome.text[:2000])

    def num(number: int | None) -> str:
        return f"#{number} " if number else ""

    async def open_numbers(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        outcome = await desk.handle(c.ListTickets("open"), interactions.caller(interaction))
        numbers = [n for n in outcome.listed if str(n).startswith(current)]
        return [app_commands.Choice(name=f"#{n}", value=n) for n in numbers[:25]]

    @group.command(description="Take the ticket")
    @app_commands.autocomplete(number=open_numbers)
    async def claim(interaction: discord.Interaction, number: Number | None = None) -> None:
        await run(interaction, f"claim {num(number)}")

    @group.command(description="Give the ticket to an agent")
    @app_commands.autocomplete(number=open_numbers)
    async def assign(
        interaction: discord.Interaction, agent: discord.Member, number: Number | None = None
    ) -> None:
        token = f"<@{agent.id}>"
        person = Person(PLATFORM, str(agent.id), agent.display_name)
        staff = frozenset({person.ref}) if interactions.is_staff(agent) else frozenset()
        await run(interaction, f"assign {num(number)}{token}", {token: person}, staff)

    @group.command(description="Hand the ticket to a team or tier")
    @app_commands.autocomplete(number=open_numbers)
    async def escalate(
        interaction: discord.Interaction, team: str, reason: str = "", number: Number | None = None
    ) -> None:
        await run(interaction, f"escalate {num(number)}{team} {reason}")

    @group.command(description="Close the ticket (the customer is asked for a rating)")
    @app_commands.autocomplete(number=open_numbers)
    async def close(
        interaction: discord.Interaction, resolution: str = "", number: Number | None = None
    ) -> None:
        await run(interaction, f"close {num(number)}{resolution}")

    @group.command(description="Reopen a closed ticket")
    async def reopen(
        interaction: discord.Interaction, reason: str = "", number: Number | None = None
    ) -> None:
        await run(interaction, f"reopen {num(number)}{reason}")

    @group.command(description="Add an internal note (never sent to the customer)")
    @app_commands.autocomplete(number=open_numbers)
    async def note(
        interaction: discord.Interaction, text: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"note {num(number)}{text}")

    @group.command(description="Change the priority")
    @app_commands.autocomplete(number=open_numbers)
    async def priority(
        interaction: discord.Interaction,
        level: Literal["urgent", "high", "normal", "low"],
        number: Number | None = None,
    ) -> None:
        await run(interaction, f"priority {num(number)}{level}")

    @group.command(description="Remind yourself to check back, e.g. in 3d")
    @app_commands.autocomplete(number=open_numbers)
    async def followup(
        interaction: discord.Interaction,
        duration: str,
        note: str = "",
        number: Number | None = None,
    ) -> None:
        await run(interaction, f"followup {num(number)}in {duration} {note}")

    @group.command(description="Your follow-ups and those due today")
    async def followups(interaction: discord.Interaction) -> None:
        await run(interaction, "followups")

    @group.command(description="The leads' daily digest, now (leads)")
    async def digest(interaction: discord.Interaction) -> None:
        await run(interaction, "digest")

    @group.command(name="list", description="List tickets")
    async def list_(
        interaction: discord.Interaction,
        which: Literal["open", "mine", "unclaimed", "escalated", "closed", "all"] = "open",
    ) -> None:
        await run(interaction, f"list {which}")

    @group.command(description="A ticket with its history")
    @app_commands.autocomplete(number=open_numbers)
    async def show(interaction: discord.Interaction, number: Number | None = None) -> None:
        await run(interaction, f"show {num(number)}")

    def mentioned(user: discord.User | discord.Member | None) -> tuple[str, dict[str, Person]]:
        if user is None:
            return "", {}
        token = f"<@{user.id}>"
        return f"{token} ", {token: Person(PLATFORM, str(user.id), user.display_name)}

    @group.command(description="Block a customer: their messages open no ticket (e.g. 7d)")
    async def block(
        interaction: discord.Interaction,
        customer: discord.User | None = None,
        duration: str = "",
        reason: str = "",
        number: Number | None = None,
    ) -> None:
        token, mentions = mentioned(customer)
        staff = frozenset(
            p.ref
            for p in mentions.values()
            if isinstance(customer, discord.Member) and interactions.is_staff(customer)
        )
        await run(interaction, f"block {num(number)}{token}{duration} {reason}", mentions, staff)

    @group.command(description="Lift a customer's block")
    async def unblock(
        interaction: discord.Interaction,
        customer: discord.User | None = None,
        number: Number | None = None,
    ) -> None:
        token, mentions = mentioned(customer)
        await run(interaction, f"unblock {num(number)}{token}", mentions)

    @group.command(description="Who is blocked, by whom and until when")
    async def blocked(interaction: discord.Interaction) -> None:
        await run(interaction, "blocked")

    async def snippet_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not interactions.is_staff(interaction.user):
            return []  # the saved replies are the staff's
        typed = current.strip().lower()
        names = [n for n in await desk.snippet_names() if typed in n]
        names.sort(key=lambda n: not n.startswith(typed))  # what was typed first, in order
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    @group.command(description="Send a saved reply to the customer, in their language")
    @app_commands.autocomplete(name=snippet_names)
    @app_commands.autocomplete(number=open_numbers)
    async def send(
        interaction: discord.Interaction, name: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"send {name} {num(number)}")

    @group.command(description="Reply to the customer in the team's voice, not your own")
    @app_commands.autocomplete(number=open_numbers)
    async def areply(
        interaction: discord.Interaction, text: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"areply {num(number)}{text}")

    snippet = app_commands.Group(name="snippet", description="Saved replies", parent=group)

    @snippet.command(
        name="add",
        description="Save a reply; {{ customer }}, {{ agent }} and {{ number }} are filled in",
    )
    @app_commands.choices(
        locale=[app_commands.Choice(name=x, value=x) for x in available_locales()]
    )
    async def snippet_add(
        interaction: discord.Interaction, name: str, text: str, locale: str | None = None
    ) -> None:
        language = f"--locale {locale} " if locale else ""
        await run(interaction, f"snippet add {name} {language}{text}")

    @snippet.command(name="list", description="Every saved reply")
    async def snippet_list(interaction: discord.Interaction) -> None:
        await run(interaction, "snippet list")

    @snippet.command(name="remove", description="Remove a saved reply, in every language")
    @app_commands.autocomplete(name=snippet_names)
    async def snippet_remove(interaction: discord.Interaction, name: str) -> None:
        await run(interaction, f"snippet remove {name}")

    kb = app_commands.Group(
        name="kb", description="Help articles, and earlier tickets like this one", parent=group
    )

    @kb.command(
        name="search",
        description="Articles that answer a question (a ticket's: its customer's language)",
    )
    @app_commands.autocomplete(number=open_numbers)
    async def kb_search(
        interaction: discord.Interaction, question: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"kb search {num(number)}{question}")

    @kb.command(name="send", description="Send an article to the customer, in their language")
    @app_commands.autocomplete(number=open_numbers)
    async def kb_send(
        interaction: discord.Interaction, article: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"kb send {article} {num(number)}")

    @kb.command(name="similar", description="Earlier closed tickets most like this one")
    @app_commands.autocomplete(number=open_numbers)
    async def kb_similar(interaction: discord.Interaction, number: Number | None = None) -> None:
        await run(interaction, f"similar {num(number)}")

    @group.command(description="Tag the ticket: one or more words, e.g. billing vip")
    @app_commands.autocomplete(number=open_numbers)
    async def tag(
        interaction: discord.Interaction, tags: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"tag {num(number)}{tags}")

    @group.command(description="Take tags off the ticket")
    async def untag(
        interaction: discord.Interaction, tags: str, number: Number | None = None
    ) -> None:
        await run(interaction, f"untag {num(number)}{tags}")

    @group.command(description="Go on or off the round-robin rota; alone: who is on duty")
    async def duty(
        interaction: discord.Interaction,
        state: Literal["on", "off"] | None = None,
        teams: str = "",
    ) -> None:
        await run(interaction, f"duty {state or ''} {teams}".strip())

    @group.command(description="Post the ticket's transcript as files in its thread")
    async def transcript(interaction: discord.Interaction, number: Number | None = None) -> None:
        await run(interaction, f"transcript {num(number)}")

    @group.command(description="Post an 'Open a ticket' button in this channel (staff)")
    async def panel(interaction: discord.Interaction) -> None:
        caller = interactions.caller(interaction)
        if not caller.is_staff:
            text = desk.text("not_staff")
        elif not isinstance(interaction.channel, discord.abc.Messageable):
            text = "This channel cannot hold a panel."
        else:
            button = Action(PANEL_BUTTON, desk.text("button_open_ticket"), "primary")
            await interaction.channel.send(
                desk.text("panel_text"),
                view=buttons([button]),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            text = desk.text("panel_posted")
        await interaction.response.send_message(text, ephemeral=True)

    @group.command(name="help", description="Every ticket command")
    async def help_(interaction: discord.Interaction) -> None:
        await run(interaction, "help")

    return group
