"""DutyRepository and open ticket counts: what round-robin assignment reads."""

from __future__ import annotations

from bot.model import Duty, Person, Status
from bot.ports import UnitOfWorkFactory
from tests.contract.conftest import AT, BOB, CAROL, SECOND, add_customer, add_ticket, in_utc

DAN = Person("slack", "UDAN", "Dan")


async def test_an_agents_duty_is_kept_and_replaced(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.duty.put(Duty(BOB, ("billing", "tier2"), True, AT))
        await uow.duty.put(Duty(CAROL, (), True, AT))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.duty.assigned(BOB.ref, AT + SECOND)
        await uow.duty.put(Duty(CAROL, (), False, AT + SECOND))
        await uow.commit()
    async with uow_factory() as uow:
        bob = await uow.duty.get(BOB.ref)
        assert bob is not None
        assert (bob.agent, bob.teams, bob.on, bob.since) == (BOB, ("billing", "tier2"), True, AT)
        assert bob.last_assigned_at == AT + SECOND
        assert in_utc(bob.last_assigned_at)
        # going on duty again keeps the turn: the last ticket they got still counts
        await uow.duty.put(Duty(BOB, ("billing",), True, AT + 2 * SECOND))
        again = await uow.duty.get(BOB.ref)
        assert again is not None
        assert again.last_assigned_at == AT + SECOND
        assert [(d.agent.name, d.on) for d in await uow.duty.all()] == [
            ("Bob", True),
            ("Carol", False),
        ]
        assert await uow.duty.get(DAN.ref) is None


async def test_open_tickets_are_counted_per_agent(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await add_ticket(uow, 1, customer_id, assignee=BOB, status=Status.CLAIMED)
        await add_ticket(uow, 2, customer_id, assignee=BOB, status=Status.WAITING)
        await add_ticket(uow, 3, customer_id, assignee=BOB, status=Status.CLOSED)
        await add_ticket(uow, 4, customer_id, assignee=CAROL, status=Status.CLAIMED)
        await add_ticket(uow, 5, customer_id)
        await uow.commit()
    async with uow_factory() as uow:
        counts = await uow.tickets.open_counts([BOB.ref, CAROL.ref, DAN.ref])
        assert counts == {BOB.ref: 2, CAROL.ref: 1}
        assert await uow.tickets.open_counts([]) == {}
