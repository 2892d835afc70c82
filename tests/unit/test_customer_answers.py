"""A customer's answers after a close: one rating per close and one answer per check-in,
the last press counting once; a low rating asks what we could have done better."""

from __future__ import annotations

from datetime import timedelta

from bot import commands as c
from bot.desk.after_close import is_thanks
from bot.model import Source, Status
from tests.unit.conftest import World, customer, make_world, staff


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


async def test_a_thanks_soon_after_the_close_joins_the_closed_ticket(world: World) -> None:
    await _closed_after_an_answer(world)
    world.clock.advance(timedelta(minutes=5))
    await world.customer_says("Thanks so much!")
    sent = await world.delivered()
    assert sent == ["The customer wrote after the close (the ticket stays closed): Thanks so much!"]
    assert len(world.store.tickets) == 1
    [ticket] = world.store.tickets.values()
    assert ticket.is_closed
    assert [m.body for m in world.store.messages][-1] == "Thanks so much!"


async def test_anything_more_than_a_thanks_or_later_is_a_new_ticket(world: World) -> None:
    await _closed_after_an_answer(world)
    await world.customer_says("Thanks, but it still fails")
    assert len(world.store.tickets) == 2
    world.clock.advance(timedelta(minutes=11))
    await world.staff_says("/ticket close #2")
    world.clock.advance(timedelta(minutes=11))
    await world.customer_says("thank you")  # #2 closed 11 minutes ago: past the grace
    assert len(world.store.tickets) == 3


async def test_a_japanese_thanks_is_understood() -> None:
    world = make_world()
    await world.customer_says("壊れました", locale="ja-JP")
    await world.desk.handle(c.RelayAgentMessage(1, "確認します"), staff())
    await world.staff_says("/ticket close #1")
    await world.sender.drain()
    await world.customer_says("本当に助かりました。ありがとうございます！", locale="ja-JP")
    assert len(world.store.tickets) == 1
    await world.customer_says("ありがとう、でもまだ動きません", locale="ja-JP")
    assert len(world.store.tickets) == 2


async def test_the_answer_to_a_low_rating_reaches_the_staff_thread(world: World) -> None:
    await _closed_after_an_answer(world)
    await _press(world, 1)
    world.clock.advance(timedelta(hours=5))
    await world.customer_says("You took two days to answer.")
    assert sorted(await world.delivered()) == [
        "Thank you for telling us. We have passed it on to the team.",  # to the customer
        "The customer's answer to “what could we have done better?”: You took two days to answer.",
    ]
    assert len(world.store.tickets) == 1
    assert [e.kind for e in world.store.events][-1] == "feedback"
    await world.customer_says("Also, my printer is broken now.")  # answered: a new matter
    assert len(world.store.tickets) == 2


async def test_a_grace_of_zero_never_keeps_a_thanks() -> None:
    world = make_world(thanks_grace=timedelta(0))
    await _closed_after_an_answer(world)
    await world.customer_says("Thanks!")
    assert len(world.store.tickets) == 2


def test_what_counts_as_a_thanks() -> None:
    thanks = [
        "Thanks!",
        "thank you so much 🙏",
        "It works now, thanks!",
        "it's fixed, thanks",
        "tysm",
        "👍",
        "ありがとうございました！",
        "本当に助かりました。ありがとうございます",
        "早速のご対応ありがとうございます",
        "ありがとうございました。またよろしくお願いします",
    ]
    not_thanks = [
        "Thanks, but it still fails",
        "no thanks",
        "thank you, can you also check my invoice",
        "ok",
        "https://example.com/thanks",
        "ありがとう、でもまだ動きません",
        "ありがとうございます。もう一つ質問です",
    ]
    assert [t for t in thanks if not is_thanks(t)] == []
    assert [t for t in not_thanks if is_thanks(t)] == []


async def test_a_rating_button_of_a_ticket_open_again_changes_nothing(world: World) -> None:
    await _closed_after_an_answer(world)
    await world.staff_says("/ticket reopen #1")
    await world.sender.drain()
    assert await _press(world, 1) == []
    assert "rated" not in [e.kind for e in world.store.events]


async def test_in_the_tickets_own_thread_an_answer_after_a_low_rating_reopens_it() -> None:
    world = make_world()
    thread = Source("test", "W1", "C-help", "1700000000.0001", is_dm=False)
    await world.customer_says("VPN fails", source=thread)
    await world.desk.handle(c.RelayAgentMessage(1, "Reconnect, please"), staff())
    await world.staff_says("/ticket close #1")
    await world.desk.handle(c.RateTicket(1, 1), c.Caller(customer()))
    await world.customer_says("still broken", source=thread)
    [ticket] = world.store.tickets.values()
    assert ticket.status is Status.REOPENED  # not filed away as feedback
