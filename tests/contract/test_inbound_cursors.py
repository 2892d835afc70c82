"""InboundRepository (each platform event once) and CursorRepository (the last message seen
per channel, only ever forward)."""

from __future__ import annotations

from datetime import timedelta

from bot.ports import UnitOfWorkFactory
from tests.contract.conftest import AT, SECOND


async def test_an_event_is_recorded_once_per_platform(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
        assert not await uow.inbound.record("slack", "Ev1", {"text": "other"}, AT + SECOND)
        assert await uow.inbound.record("discord", "Ev1", {"text": "hi"}, AT)
        assert await uow.inbound.record("slack", "Ev2", {}, AT)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
        assert not await uow.inbound.record("discord", "Ev1", {"text": "hi"}, AT)
        assert await uow.inbound.record("slack", "ev1", {"text": "hi"}, AT)  # ids are exact


async def test_a_transaction_opened_by_a_write_is_undone_by_rollback(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
        await uow.rollback()
    async with uow_factory() as uow:
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)  # not a duplicate
        assert not await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)


async def test_an_event_not_committed_is_no_duplicate(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
    async with uow_factory() as uow:  # the first unit of work was left without a commit
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)


async def test_a_failed_event_is_kept_and_its_retry_still_handled(
    uow_factory: UnitOfWorkFactory,
) -> None:
    payload = {"fields": {"text": "my order is missing", "pair": (1, 2)}}
    async with uow_factory() as uow:
        await uow.inbound.record_failure("slack", "Ev9", payload, "RuntimeError: x", AT)
        await uow.commit()
    async with uow_factory() as uow:
        # the failure again (a second try failed too): no error, the first is kept
        await uow.inbound.record_failure("slack", "Ev9", payload, "RuntimeError: y", AT)
        assert await uow.inbound.record("slack", "Ev9", payload, AT)  # the retry is handled
        # the failure is kept under a key of its own, which is therefore taken
        assert not await uow.inbound.record("slack", "failed:Ev9", {}, AT)
        assert await uow.inbound.record("discord", "failed:Ev9", {}, AT)
        await uow.commit()


async def test_a_failure_rolled_back_is_not_kept(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.inbound.record_failure("slack", "Ev9", {}, "RuntimeError: x", AT)
        await uow.rollback()
        assert await uow.inbound.record("slack", "failed:Ev9", {}, AT)


async def test_channel_cursors_only_move_forward(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.cursors.get("discord", "42") is None
        await uow.cursors.advance("discord", "42", "900000000000000009", AT)
        await uow.cursors.advance("discord", "42", "1000000000000000001", AT)
        await uow.cursors.advance("discord", "42", "900000000000000010", AT)  # older: kept
        await uow.cursors.advance("discord", "43", "5", AT)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cursors.channels("discord", AT + timedelta(seconds=1)) == {}
        assert await uow.cursors.channels("discord", AT) == {
            "42": "1000000000000000001",
            "43": "5",
        }


async def test_a_cursor_reads_back_in_the_same_unit_and_after_commit_only(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.cursors.advance("slack", "C1", "1700.000100", AT)
        assert await uow.cursors.get("slack", "C1") == "1700.000100"
        assert await uow.cursors.get("slack", "C2") is None
        assert await uow.cursors.get("discord", "C1") is None
    async with uow_factory() as uow:  # not committed
        assert await uow.cursors.get("slack", "C1") is None
        await uow.cursors.advance("slack", "C1", "1700.000200", AT)
        await uow.commit()
    async with uow_factory() as uow:
        # ids that are not numbers compare as text (Slack's timestamps have equal lengths)
        await uow.cursors.advance("slack", "C1", "1700.000199", AT)
        assert await uow.cursors.get("slack", "C1") == "1700.000200"
        await uow.cursors.advance("slack", "C1", "1700.000201", AT)
        assert await uow.cursors.get("slack", "C1") == "1700.000201"
        # numbers compare as numbers, not as text
        await uow.cursors.advance("discord", "9", "99", AT)
        await uow.cursors.advance("discord", "9", "100", AT)
        assert await uow.cursors.get("discord", "9") == "100"


async def test_channels_heard_from_are_those_whose_cursor_moved_since(
    uow_factory: UnitOfWorkFactory,
) -> None:
    later = AT + timedelta(hours=1)
    async with uow_factory() as uow:
        await uow.cursors.advance("discord", "1", "10", AT)
        await uow.cursors.advance("discord", "2", "20", AT)
        await uow.cursors.advance("slack", "C1", "1700.1", later)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.cursors.advance("discord", "1", "11", later)  # moved: heard from
        await uow.cursors.advance("discord", "2", "19", later)  # older: not moved
        await uow.cursors.advance("discord", "2", "20", later)  # the same: not moved
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cursors.channels("discord", later) == {"1": "11"}
        assert await uow.cursors.channels("discord", later - SECOND) == {"1": "11"}
        assert await uow.cursors.channels("discord", AT) == {"1": "11", "2": "20"}
        assert await uow.cursors.channels("slack", AT) == {"C1": "1700.1"}
        assert await uow.cursors.channels("slack", later + SECOND) == {}
        assert await uow.cursors.channels("teams", AT) == {}
