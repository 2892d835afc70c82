"""The desk on a bad day: replayed events, hostile or broken input, a bug inside a handler, and
a database that is down; nothing is lost, doubled or misreported."""

from __future__ import annotations

import pytest

from bot.kinds import MessageKind
from bot.model import OutboundMessage
from bot.ports import StorageOutage
from tests.unit.conftest import World
from tests.unit.fakes import FakeTickets


async def _outbox(world: World) -> list[OutboundMessage]:
    return [r["message"] for r in world.store.outbox.values()]


async def test_a_replayed_event_changes_nothing(world: World) -> None:
    first = await world.customer_says("Hello", event_id="Ev1")
    second = await world.customer_says("Hello", event_id="Ev1")
    assert first.ticket_number == 1
    assert second.already_handled
    assert len(world.store.tickets) == 1
    assert len(world.store.messages) == 1
    assert len(world.store.outbox) == 3


async def test_bad_customer_input_is_refused_or_kept_whole(world: World) -> None:
    for empty in ("", "   \n\t "):
        reply = await world.customer_says(empty)
        assert not reply.ok
        assert "empty" in reply.text
    assert world.store.tickets == {}
    huge = "x" * 50_000
    await world.customer_says("long one\n" + huge)
    await world.customer_says("null\x00byte")
    await world.sender.drain()
    assert world.store.messages[0].body.endswith(huge)
    assert world.out.bodies("staff")[1].endswith(huge)  # relayed whole; adapters split it
    assert world.store.messages[1].body == "null\ufffdbyte"


async def test_customer_text_never_carries_mentions(world: World) -> None:
    await world.customer_says("<!channel> @everyone <@U123> please look")
    await world.sender.drain()
    assert all(m.mentions == [] for m in world.out.delivered)
    assert "<!channel> @everyone <@U123> please look" in world.out.bodies("staff")


async def test_customer_text_is_never_rendered_as_a_template(world: World) -> None:
    await world.customer_says("{{ 7 * 7 }} {% for x in y %}")
    await world.sender.drain()
    assert "{{ 7 * 7 }} {% for x in y %}" in world.out.bodies("staff")
    card = world.out.delivered[0]
    assert "{{ 7 * 7 }}" in card.body


async def test_a_failure_inside_the_desk_keeps_the_event_and_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self, ticket):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(FakeTickets, "add", broken)
        reply = await world.customer_says("my order is missing", event_id="Ev9")
    assert not reply.ok
    assert "Nothing you sent is lost (reference Ev9)" in reply.text
    kept = world.store.inbound[("test", "failed:Ev9")]
    assert kept["fields"]["text"] == "my order is missing"
    assert kept["error"] == "RuntimeError: disk on fire"
    assert world.store.tickets == {}
    retried = await world.customer_says("my order is missing", event_id="Ev9")
    assert retried.ok
    assert retried.ticket_number == 1  # the platform's retry is still handled


async def test_a_database_outage_keeps_nothing_and_claims_nothing(world: World) -> None:
    world.store.outage = True
    with pytest.raises(StorageOutage):  # the adapter must not acknowledge the event
        await world.customer_says("my order is missing", event_id="Ev10")
    assert world.store.inbound == {}
    assert world.store.tickets == {}
    world.store.outage = False
    reply = await world.customer_says("my order is missing", event_id="Ev10")  # redelivered
    assert reply.ok
    assert reply.ticket_number == 1
    assert [m.kind for m in await _outbox(world)].count(MessageKind.ACK) == 1


async def test_a_bug_while_the_database_is_down_is_not_called_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self, ticket):  # type: ignore[no-untyped-def]
        world.store.outage = True  # the database goes while the bug happens
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(FakeTickets, "add", broken)
        with pytest.raises(StorageOutage):
            await world.customer_says("my order is missing", event_id="Ev11")
    assert world.store.inbound == {}


async def test_hostile_text_is_stored_with_what_cannot_be_stored_marked(world: World) -> None:
    reply = await world.customer_says("lone \ud800 and NUL \x00 kept, 🧑‍💻 \u202eمرحبا")
    assert reply.ok
    (message,) = world.store.messages
    assert message.body == "lone \ufffd and NUL \ufffd kept, 🧑‍💻 \u202eمرحبا"
    await world.sender.drain()
    relay = next(m for m in world.out.delivered if m.kind == "customer_message")
    assert "lone \ufffd and NUL \ufffd kept, 🧑‍💻 \u202eمرحبا" in relay.body
