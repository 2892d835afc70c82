"""A customer's answers after a close: one rating per close and one answer per check-in,
the last press counting once; a low rating asks what we could have done better."""

from __future__ import annotations

from datetime import timedelta

from bot import commands as c
from tests.unit.conftest import World, customer, staff


async def _closed_after_an_answer(world: World) -> None:
    await world.customer_says("Broken")
    await world.desk.handle(c.RelayAgentMessage(1, "Try restarting it"), staff())
    await world.staff_says("/ticket close #1 restarted")
    await world.sender.drain()


async def _press(world: World, score: int) -> list[str]:
    await world.desk.handle(c.RateTicket(1, score), c.Caller(customer()))
    return await world.delivered()


async def test_a_second_rating_replaces_the_first_and_counts_once(world: World) -> None:
    await _closed_after_an_answer(world)
    first = await _press(world, 2)
    assert "The customer rated this ticket 2/5." in first
    assert any("what could we have done better?" in body for body in first)
    changed = await _press(world, 5)
    assert "The customer changed their rating from 2/5 to 5/5." in changed
    assert "Thank you for your rating!" in changed
    assert await _press(world, 5) == []  # the same press again: nothing new
    world.clock.advance(timedelta(minutes=1))  # the digest's window ends before now
    digest = await world.desk.handle(c.ShowDigest(), staff(is_lead=True))
    assert "Satisfaction: 5.0/5 from 1 rating" in digest.text
    assert "Closed 1" in digest.text


async def test_a_rating_after_a_reopen_and_a_new_close_is_a_new_rating(world: World) -> None:
    await _closed_after_an_answer(world)
    await _press(world, 3)
    await world.staff_says("/ticket reopen #1")
    await world.staff_says("/ticket close #1 replaced")
    await world.sender.drain()
    assert "The customer rated this ticket 3/5." in await _press(world, 3)


async def test_a_check_in_answer_counts_once_and_can_change(world: World) -> None:
    await _closed_after_an_answer(world)
    [due] = [m for m in await world.at(timedelta(days=3)) if m.actions]
    await world.desk.handle(c.SendCheckIn(int(due.actions[0].id.rsplit(":", 1)[1])), staff())
    await world.sender.drain()
    alice = c.Caller(customer())
    await world.desk.handle(c.AnswerCheckIn(1, all_good=True), alice)
    assert "The customer answered the check-in: all good." in await world.delivered()
    await world.desk.handle(c.AnswerCheckIn(1, all_good=True), alice)
    assert await world.delivered() == []  # heard once already
    await world.desk.handle(c.AnswerCheckIn(1, all_good=False), alice)
    assert any("still having trouble" in body for body in await world.delivered())
