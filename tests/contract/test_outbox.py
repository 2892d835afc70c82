"""OutboxRepository: what a claim hands out (due, in order per conversation, customers
first), leases, and what each result of an attempt leaves."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.kinds import MessageKind
from bot.model import Action, Audience, OutboundMessage
from bot.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.conftest import AT, SECOND, add_customer, add_ticket, in_utc

LEASE = timedelta(seconds=60)


def _message(
    platform: str, body: str, audience: Audience = Audience.CUSTOMER, **fields: object
) -> OutboundMessage:
    """A message whose conversation is `platform` (and audience): no ticket, the desk's."""
    message = OutboundMessage(platform, audience, MessageKind.NOTICE, body, channel="C1")
    for name, value in fields.items():
        assert hasattr(message, name), name
        setattr(message, name, value)
    return message


async def _add(factory: UnitOfWorkFactory, *messages: OutboundMessage) -> None:
    async with factory() as uow:
        for message in messages:
            await uow.outbox.add(message, AT)
        await uow.commit()


async def _claim(
    uow: UnitOfWork,
    now: datetime,
    owner: str = "w",
    *,
    limit: int = 10,
    lease: timedelta = LEASE,
    customers_only: bool = False,
) -> list[OutboundMessage]:
    return await uow.outbox.claim(now, limit, owner, now + lease, customers_only=customers_only)


async def _bodies(factory: UnitOfWorkFactory, now: datetime, owner: str = "other") -> list[str]:
    """What another worker would claim at `now` (not kept)."""
    async with factory() as uow:
        return [m.body for m in await _claim(uow, now, owner)]


async def test_a_message_reads_back_from_a_claim_as_written(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 12, await add_customer(uow))
        written = OutboundMessage(
            platform="slack",
            audience=Audience.STAFF,
            kind=MessageKind.CARD,
            body="#12 ログインできません",
            ticket_id=ticket.id,
            ticket_number=12,
            author_name="Ayumi",
            channel="CSTAFF",
            thread="1700.1",
            actions=[Action("ticket:claim:12", "Claim", "primary"), Action("ticket:close:12", "X")],
            mentions=["U1", "U2"],
            data={"source_message_id": "1699.9", "pair": (1, 2)},
            # what the outbox keeps itself: not taken from the message given
            attempts=5,
            in_doubt=True,
            warned=True,
        )
        await uow.outbox.add(written, AT)
        await uow.commit()
    async with uow_factory() as uow:
        [claimed] = await _claim(uow, AT)
    assert claimed.id is not None
    assert claimed.conversation == f"slack:staff:{ticket.id}"
    assert (claimed.platform, claimed.audience, claimed.kind) == ("slack", "staff", "card")
    assert type(claimed.kind) is MessageKind
    assert type(claimed.audience) is Audience
    assert (claimed.body, claimed.ticket_id, claimed.ticket_number) == (written.body, ticket.id, 12)
    assert (claimed.author_name, claimed.channel, claimed.thread) == ("Ayumi", "CSTAFF", "1700.1")
    assert claimed.actions == written.actions
    assert claimed.mentions == ["U1", "U2"]
    assert claimed.data == {"source_message_id": "1699.9", "pair": [1, 2]}  # JSON
    assert (claimed.attempts, claimed.in_doubt, claimed.warned) == (0, False, False)
    assert claimed.created_at == AT
    assert in_utc(claimed.created_at)


async def test_only_what_is_due_is_claimed(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, _message("a", "a0"))
    assert await _bodies(uow_factory, AT - timedelta(microseconds=1)) == []
    assert await _bodies(uow_factory, AT) == ["a0"]  # due at the time it was written
    async with uow_factory() as uow:
        [message] = await _claim(uow, AT)
        assert message.id is not None
        await uow.outbox.mark_retry(message.id, AT + timedelta(seconds=30), "429")
        await uow.commit()
    assert await _bodies(uow_factory, AT + timedelta(seconds=29)) == []
    assert await _bodies(uow_factory, AT + timedelta(seconds=30)) == ["a0"]


async def test_a_conversation_goes_out_in_the_order_written(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, *[_message(c, f"{c}{n}") for n, c in enumerate("aabab")])
    async with uow_factory() as uow:
        first = await _claim(uow, AT)
        assert [m.body for m in first] == ["a0", "b2"]
        a0, b2 = (m.id or 0 for m in first)
        await uow.outbox.mark_retry(a0, AT + timedelta(seconds=30), "429")
        await uow.outbox.mark_sent(b2, "pm-1", AT)
        assert await uow.outbox.pending_count() == 4  # a0, waiting for its retry, is pending
        await uow.commit()
    # a0 waits for its retry and holds back a1 and a3; b moves on
    assert await _bodies(uow_factory, AT) == ["b4"]
    async with uow_factory() as uow:
        assert [m.body for m in await _claim(uow, AT + timedelta(seconds=30))] == ["a0", "b4"]
        await uow.outbox.mark_failed(a0, "channel_not_found", AT)  # failed: the next goes
        await uow.commit()
    # b4, claimed at +30s, is free once that lease ran out
    assert await _bodies(uow_factory, AT + timedelta(seconds=30) + LEASE) == ["a1"]
    assert await _bodies(uow_factory, AT + timedelta(seconds=30) + LEASE + SECOND) == ["a1", "b4"]


async def test_customers_come_first_and_a_claim_takes_up_to_its_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _add(
        uow_factory,
        _message("a", "staff a", Audience.STAFF),
        _message("b", "leads b", Audience.LEADS),
        _message("c", "customer c"),
        _message("d", "customer d"),
    )
    async with uow_factory() as uow:
        assert [m.body for m in await _claim(uow, AT, limit=3)] == [
            "customer c",
            "customer d",
            "staff a",
        ]
        await uow.rollback()
        assert [m.body for m in await _claim(uow, AT, limit=1)] == ["customer c"]
        await uow.rollback()
        customers = await _claim(uow, AT, customers_only=True)
        assert [m.body for m in customers] == ["customer c", "customer d"]
        assert [m.body for m in await _claim(uow, AT, limit=0)] == []


async def test_a_leased_conversation_is_no_one_elses_until_its_lease_runs_out(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _add(uow_factory, *[_message(c, f"{c}{n}", Audience.STAFF) for n, c in enumerate("aab")])
    async with uow_factory() as uow:
        mine = await _claim(uow, AT, "one")
        await uow.commit()
    assert [m.body for m in mine] == ["a0", "b2"]
    a0, b2 = (m.id or 0 for m in mine)
    async with uow_factory() as uow:  # another worker: nothing, not even a1
        assert await _claim(uow, AT, "two") == []
        assert await _claim(uow, AT + LEASE, "one") == []  # until the lease's very end
        # the first worker renews a0 only; b2's lease runs out
        assert await uow.outbox.renew([a0], "one", AT + 2 * LEASE) == {a0}
        await uow.commit()
    later = AT + LEASE + timedelta(microseconds=1)
    async with uow_factory() as uow:
        taken = await _claim(uow, later, "two")
        assert [m.body for m in taken] == ["b2"]
        assert await uow.outbox.renew([b2], "one", later + LEASE) == set()  # two's now
        await uow.outbox.release([a0], "one")  # given back: free at once
        await uow.commit()
    assert await _bodies(uow_factory, later) == ["a0"]


async def test_a_claim_rolled_back_leases_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, _message("a", "a0"))
    async with uow_factory() as uow:
        assert len(await _claim(uow, AT, "one")) == 1
        await uow.rollback()
        assert [m.body for m in await _claim(uow, AT, "two")] == ["a0"]
    assert await _bodies(uow_factory, AT) == ["a0"]  # and left without a commit


async def test_only_the_owner_renews_or_releases_a_lease(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, _message("a", "a0"), _message("b", "b1"), _message("c", "c2"))
    async with uow_factory() as uow:
        a0, b1, c2 = (m.id or 0 for m in await _claim(uow, AT, "one", lease=SECOND))
        await uow.outbox.mark_sent(c2, "pm-1", AT)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.renew([a0, b1, c2], "two", AT + LEASE) == set()
        await uow.outbox.release([a0, b1], "two")
        # a lease that ran out, but that nobody took since, is still the owner's to renew
        assert await uow.outbox.renew([a0, c2, 99_999], "one", AT + LEASE) == {a0}
        assert await uow.outbox.renew([], "one", AT + LEASE) == set()
        await uow.commit()
    # b1's lease ran out (and was not renewed): anyone's; a0 is held
    assert await _bodies(uow_factory, AT + 2 * SECOND) == ["b1"]
    async with uow_factory() as uow:
        await uow.outbox.release([a0, b1, 99_999], "one")
        await uow.outbox.release([], "one")
        await uow.commit()
    assert await _bodies(uow_factory, AT) == ["a0", "b1"]


async def test_a_send_under_way_when_the_process_died_is_in_doubt_after_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(_message("slack", "reply 1"), AT)
        await uow.commit()
    async with uow_factory() as uow:
        (due,) = await uow.outbox.claim(AT, 10, "w", AT, customers_only=False)
        assert not due.in_doubt
        assert due.created_at == AT
        assert due.id is not None
        await uow.outbox.start_attempts([due.id], AT)
        await uow.commit()
    # the process is killed here, before the platform's answer is recorded
    async with uow_factory() as uow:
        later = AT + timedelta(seconds=1)  # after the dead worker's lease
        (again,) = await uow.outbox.claim(later, 10, "w2", later, customers_only=False)
        assert again.id == due.id
        assert again.in_doubt
        await uow.outbox.mark_retry(due.id, AT, "429", in_doubt=False)  # refused: not sent
        await uow.outbox.mark_warned(due.id, AT)
        await uow.commit()
    async with uow_factory() as uow:
        (third,) = await uow.outbox.claim(AT, 10, "w2", AT, customers_only=False)
        assert not third.in_doubt
        assert third.warned
        assert third.attempts == 1


async def test_a_retry_in_doubt_stays_in_doubt_only_if_a_send_was_under_way(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _add(uow_factory, _message("a", "a0"), _message("b", "b1"))
    async with uow_factory() as uow:
        a0, b1 = (m.id or 0 for m in await _claim(uow, AT))
        await uow.outbox.start_attempts([a0], AT)
        await uow.outbox.start_attempts([], AT)
        # a timeout: the platform may have a0; b1 was never under way
        await uow.outbox.mark_retry(a0, AT, "timeout", in_doubt=True)
        await uow.outbox.mark_retry(b1, AT, "timeout", in_doubt=True)
        await uow.commit()
    async with uow_factory() as uow:
        claimed = {m.body: m for m in await _claim(uow, AT)}
        assert (claimed["a0"].in_doubt, claimed["b1"].in_doubt) == (True, False)
        assert claimed["a0"].attempts == claimed["b1"].attempts == 1
        await uow.outbox.start_attempts([b1], AT)
        await uow.outbox.mark_retry(b1, AT, "500")  # an answer: not in doubt any more
        await uow.commit()
    async with uow_factory() as uow:
        [again] = [m for m in await _claim(uow, AT) if m.id == b1]
    assert not again.in_doubt
    assert again.attempts == 2


async def test_a_message_sent_or_failed_is_done_with(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, *[_message(c, f"{c}{n}") for n, c in enumerate("abc")])
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 3
        a0, b1, c2 = (m.id or 0 for m in await _claim(uow, AT))
        await uow.outbox.start_attempts([a0, b1], AT)
        await uow.outbox.mark_sent(a0, "pm-1", AT)
        await uow.outbox.mark_failed(b1, "not_in_channel", AT)
        await uow.outbox.mark_warned(c2, AT)
        assert await uow.outbox.pending_count() == 1
        await uow.commit()
    later = AT + 2 * LEASE
    async with uow_factory() as uow:
        [left] = await _claim(uow, later)
        assert left.id == c2
        assert left.warned
        assert left.attempts == 0
        # marks on what is done change nothing a claim sees
        assert await uow.outbox.renew([a0, b1], "w", later + LEASE) == set()
        assert [m.id for m in await _claim(uow, later + 2 * LEASE)] == [c2]


async def test_what_is_added_counts_as_pending_at_once_and_not_after_a_rollback(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 0
        await uow.outbox.add(_message("a", "a0"), AT)
        await uow.outbox.add(_message("a", "a1"), AT)
        assert await uow.outbox.pending_count() == 2
        assert [m.body for m in await _claim(uow, AT)] == ["a0"]  # claimable at once too
        await uow.rollback()
        assert await uow.outbox.pending_count() == 0
        await uow.outbox.add(_message("a", "a2"), AT)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 1


async def test_an_id_not_in_the_outbox_changes_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, _message("a", "a0"))
    async with uow_factory() as uow:
        missing = 99_999
        await uow.outbox.start_attempts([missing], AT)
        await uow.outbox.mark_sent(missing, "pm", AT)
        await uow.outbox.mark_retry(missing, AT, "x", in_doubt=True)
        await uow.outbox.mark_warned(missing, AT)
        await uow.outbox.mark_failed(missing, "x", AT)
        assert await uow.outbox.renew([missing], "w", AT) == set()
        await uow.outbox.release([missing], "w")
        assert await uow.outbox.pending_count() == 1
        [message] = await _claim(uow, AT)
    assert (message.attempts, message.in_doubt, message.warned) == (0, False, False)


async def test_a_message_about_a_ticket_needs_the_ticket(uow_factory: UnitOfWorkFactory) -> None:
    async def add_and_commit() -> None:
        async with uow_factory() as uow:
            await uow.outbox.add(_message("a", "a0", ticket_id=99_999), AT)
            await uow.commit()

    with pytest.raises(IntegrityError):  # SQL writes the outbox's rows when it commits
        await add_and_commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 0
