"""Saved replies and the team's voice: sent in the customer's language with the placeholders
filled in once, managed from chat, and the team's name shown to the customer while the
thread and the record keep the agent's."""

from __future__ import annotations

from typing import Any

import pytest

from bot import commands as c
from bot.kinds import MessageKind
from bot.model import Audience, Direction
from bot.parser import UsageError, parse
from tests.unit.conftest import World, customer, dm, make_world, staff

CONFIGURED = {
    "refund": {
        "en": "Hi {{ customer }}, {{ agent }} here: ticket #{{ number }} is refunded.",
        "ja": "{{ customer }} 様、{{ agent }} です。チケット #{{ number }} の返金が完了しました。",
    },
    "hello": {"en": "Hello!"},
}


def _world(**settings: Any) -> World:
    return make_world(snippets=CONFIGURED, **settings)


def _to_customer(world: World) -> list[tuple[str, str]]:
    return [
        (m.author_name, m.body)
        for m in world.out.delivered
        if m.audience is Audience.CUSTOMER and m.kind == MessageKind.AGENT_REPLY
    ]


async def test_a_saved_reply_goes_out_in_the_customers_language() -> None:
    world = _world()
    await world.customer_says("返金してください", locale="ja")
    await world.customer_says("Refund please", name="ben")
    await world.sender.drain()
    sent = await world.staff_says("/ticket send refund #1")
    assert sent.text == "Sent to the customer of #1."
    await world.staff_says("/ticket send #2 refund")
    await world.sender.drain()
    assert _to_customer(world) == [
        ("bob", "Alice 様、bob です。チケット #1 の返金が完了しました。"),
        ("bob", "Hi Ben, bob here: ticket #2 is refunded."),
    ]
    thread = [m.body for m in world.out.delivered if m.kind == MessageKind.NOTICE]
    assert "bob sent the saved reply “refund”: Hi Ben, bob here: ticket #2 is refunded." in thread
    ticket = next(t for t in world.store.tickets.values() if t.number == 1)
    assert ticket.first_response_at is not None  # a saved reply is an answer like any other


async def test_bang_name_in_the_thread_sends_it_and_unknown_names_are_never_relayed() -> None:
    world = _world()
    await world.customer_says("Hi")
    await world.desk.handle(c.RelayAgentMessage(1, "!hello"), staff())
    refused = await world.desk.handle(c.RelayAgentMessage(1, "!helo"), staff())
    assert not refused.ok
    assert refused.text.startswith("There is no saved reply “helo”. Did you mean “hello”?")
    await world.desk.handle(c.RelayAgentMessage(1, "!important: read this"), staff())
    await world.sender.drain()
    assert [body for _, body in _to_customer(world)] == ["Hello!", "!important: read this"]


async def test_a_customers_name_is_never_read_as_a_placeholder() -> None:
    world = _world()
    await world.desk.handle(
        c.RelayCustomerMessage(customer("{{ agent }} {{ 7*7 }}"), dm(), "Refund"),
        c.Caller(customer("{{ agent }} {{ 7*7 }}")),
    )
    await world.staff_says("/ticket send refund #1")
    await world.sender.drain()
    [(_, body)] = _to_customer(world)
    assert body.startswith("Hi {{ agent }} {{ 7*7 }}, bob here:")


async def test_saved_replies_are_added_listed_and_removed_from_chat() -> None:
    world = _world()
    added = await world.staff_says(
        "/ticket snippet add wait We are looking into it, {{ customer }}."
    )
    assert added.text.startswith("Saved “wait” (en).")
    await world.staff_says("/ticket snippet add wait --locale ja 確認しております。")
    listed = (await world.staff_says("/ticket snippet list")).text.splitlines()
    assert listed[0] == "**Saved replies (3)**"
    assert "• `wait` (ja, added by bob): 確認しております。" in listed
    assert "• `hello` (en, from the configuration file): Hello!" in listed
    await world.customer_says("Where is my parcel?", locale="ja")
    await world.desk.handle(c.RelayAgentMessage(1, "!wait"), staff())
    await world.sender.drain()
    assert _to_customer(world)[-1][1] == "確認しております。"
    kept = await world.staff_says("/ticket snippet remove refund")
    assert kept.text.startswith("Saved reply “refund” comes from the configuration file")
    assert (await world.staff_says("/ticket snippet remove wait")).text == (
        "Saved reply “wait” is removed."
    )
    french = await world.staff_says("/ticket snippet add x --locale fr Bonjour")
    assert french.text == "Saved replies can be in en, ja, not in “fr”."
    bad = await world.staff_says("/ticket snippet add x Hi {{ name }}")
    assert not bad.ok
    assert "“name” is none of them" in bad.text


async def test_a_reply_in_the_teams_voice_hides_the_agents_name_from_the_customer() -> None:
    world = _world()
    await world.customer_says("Hi")
    await world.desk.handle(c.RelayAgentMessage(1, "!anon We fixed it."), staff())
    answer = await world.staff_says("/ticket areply #1 Anything else?")
    assert answer.text == "Sent to the customer of #1 in the team's voice."
    await world.sender.drain()
    assert _to_customer(world) == [
        ("Support team", "We fixed it."),
        ("Support team", "Anything else?"),
    ]
    kept = [m for m in world.store.messages if m.direction is Direction.OUTBOUND]
    assert [(m.author.name, m.anonymous) for m in kept] == [("bob", True), ("bob", True)]
    thread = [m.body for m in world.out.delivered if m.kind == MessageKind.NOTICE]
    assert "bob sent a reply in the team's voice: Anything else?" in thread
    transcript = (await world.desk.handle(c.ShowTranscript(1), staff())).text
    assert "] bob (as the team): We fixed it." in transcript


async def test_a_desk_that_always_speaks_as_the_team_uses_its_own_name() -> None:
    world = _world(anonymous_replies=True, team_name="Acme Care")
    await world.customer_says("Hi", locale="ja")
    await world.desk.handle(c.RelayAgentMessage(1, "こんにちは"), staff())
    outside = await world.staff_says("/ticket send refund")  # no ticket named, none sent
    assert not outside.ok
    assert outside.text.startswith("Which ticket?")
    await world.staff_says("/ticket send refund #1")
    await world.sender.drain()
    assert _to_customer(world) == [
        ("Acme Care", "こんにちは"),
        ("Acme Care", "Alice 様、Acme Care です。チケット #1 の返金が完了しました。"),
    ]


def test_saved_reply_commands_parse() -> None:
    assert parse("/ticket snippet add Refund Done, {{ customer }}.") == c.AddSnippet(
        "refund", "Done, {{ customer }}."
    )
    assert parse("/ticket snippet add refund --locale ja 完了") == c.AddSnippet(
        "refund", "完了", "ja"
    )
    assert parse("/ticket snippet list") == c.ListSnippets()
    assert parse("/ticket snippet remove refund") == c.RemoveSnippet("refund")
    assert parse("/ticket send refund") == c.SendSnippet("refund")
    assert parse("/ticket areply #3 Done") == c.ReplyAsTeam("Done", 3)
    for bad in (
        "/ticket send",
        "/ticket send Re fund",
        "/ticket snippet add",
        "/ticket snippet drop x",
    ):
        with pytest.raises(UsageError):
            parse(bad)


async def test_adapters_get_every_saved_replys_name_for_their_pickers() -> None:
    world = _world()
    await world.staff_says("/ticket snippet add wait One moment, please.")
    assert await world.desk.snippet_names() == ["hello", "refund", "wait"]


async def test_anon_on_a_line_of_its_own_still_speaks_as_the_team() -> None:
    world = _world()
    await world.customer_says("Hi")
    await world.desk.handle(c.RelayAgentMessage(1, "!anon\nWe fixed it."), staff())
    await world.sender.drain()
    assert _to_customer(world) == [("Support team", "We fixed it.")]
