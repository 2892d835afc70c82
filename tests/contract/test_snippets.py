"""SnippetRepository: saved replies added from chat, one per name and language."""

from __future__ import annotations

from bot.model import Direction, Snippet, TicketMessage
from bot.ports import UnitOfWorkFactory
from tests.contract.conftest import AT, BOB, SECOND, add_customer, add_ticket


async def test_a_saved_reply_is_kept_replaced_and_removed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.snippets.put(Snippet("refund", "en", "Refunded, {{ customer }}.", "Bob"), AT)
        await uow.snippets.put(Snippet("refund", "ja", "返金しました。", "Bob"), AT)
        await uow.snippets.put(Snippet("hello", "en", "Hi!", "Carol"), AT)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.snippets.put(Snippet("refund", "en", "Refund sent.", "Carol"), AT + SECOND)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.snippets.all() == [
            Snippet("hello", "en", "Hi!", "Carol"),
            Snippet("refund", "en", "Refund sent.", "Carol"),
            Snippet("refund", "ja", "返金しました。", "Bob"),
        ]
        assert await uow.snippets.remove("refund") == 2
        assert await uow.snippets.remove("refund") == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert [s.name for s in await uow.snippets.all()] == ["hello"]


async def test_a_reply_in_the_teams_voice_is_kept_as_such(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        await uow.messages.add(TicketMessage(ticket.id, Direction.OUTBOUND, BOB, "Named", AT))
        await uow.messages.add(
            TicketMessage(ticket.id, Direction.OUTBOUND, BOB, "Team", AT, anonymous=True)
        )
        await uow.commit()
    async with uow_factory() as uow:
        read = await uow.messages.for_ticket(ticket.id)
    assert [(m.body, m.anonymous, m.author.name) for m in read] == [
        ("Named", False, "Bob"),
        ("Team", True, "Bob"),  # who wrote it is still on record
    ]
