"""Saved replies: named texts in English and Japanese, from the configuration file or added
from chat, sent to a customer in their language with their name, the agent's and the
ticket's number filled in."""

from __future__ import annotations

import difflib

from bot import commands as c
from bot.desk.context import CommandContext
from bot.model import Snippet, Ticket
from bot.ports import Outcome
from bot.saved_replies import FILLED, unknown_placeholders


async def known(ctx: CommandContext) -> dict[str, dict[str, Snippet]]:
    """Every saved reply: name -> locale -> text; chat's replace the file's."""
    found: dict[str, dict[str, Snippet]] = {}
    for name, texts in ctx.settings.snippets.items():
        for locale, text in texts.items():
            found.setdefault(name, {})[locale] = Snippet(name, locale, text, in_config=True)
    for snippet in await ctx.uow.snippets.all():
        found.setdefault(snippet.name, {})[snippet.locale] = snippet
    return found


async def text_for(ctx: CommandContext, name: str, ticket: Ticket) -> str:
    """The saved reply in the customer's language, else the desk's, else any it has."""
    snippets = await known(ctx)
    by_locale = snippets.get(name)
    if not by_locale:
        raise ctx.refuse("unknown_snippet", name=name, guess=_closest(name, snippets))
    for locale in (ticket.locale, ctx.staff_locale):
        if locale in by_locale:
            return by_locale[locale].text
    return next(iter(by_locale.values())).text


def _closest(name: str, snippets: dict[str, dict[str, Snippet]]) -> str:
    found = difflib.get_close_matches(name, list(snippets), n=1, cutoff=0.6)
    return found[0] if found else ""


async def add(ctx: CommandContext, cmd: c.AddSnippet) -> Outcome:
    if bad := unknown_placeholders(cmd.text):
        raise ctx.refuse("snippet_placeholder", placeholder=bad[0], allowed=", ".join(FILLED))
    if cmd.locale not in ctx.renderer.locales:
        raise ctx.refuse(
            "snippet_locale", language=cmd.locale, locales=", ".join(ctx.renderer.locales)
        )
    await ctx.uow.snippets.put(
        Snippet(cmd.name, cmd.locale, cmd.text, ctx.caller.actor.name), ctx.now
    )
    return Outcome(ctx.staff_text("reply_snippet_added", name=cmd.name, language=cmd.locale))


async def remove(ctx: CommandContext, cmd: c.RemoveSnippet) -> Outcome:
    if await ctx.uow.snippets.remove(cmd.name):
        return Outcome(ctx.staff_text("reply_snippet_removed", name=cmd.name))
    snippets = await known(ctx)
    if cmd.name in snippets:  # the configuration file's: changed there, not from chat
        raise ctx.refuse("snippet_in_config", name=cmd.name)
    raise ctx.refuse("unknown_snippet", name=cmd.name, guess=_closest(cmd.name, snippets))


async def listed(ctx: CommandContext, cmd: c.ListSnippets) -> Outcome:
    snippets = await known(ctx)
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/snippets.md.j2",
        snippets=[snippets[name] for name in sorted(snippets)],
    )
    return Outcome(text)
