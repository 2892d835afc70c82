"""The customer's answers to the articles offered with a new ticket ("This solved it", "I
still need help") on their own buttons, each heard once however often it is pressed; and
what the leads' digest learns from the offers: the topics of the day, the tickets the
knowledge base deflected, the questions no article answered."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import commands as c
from bot.buttons import command_for_button
from bot.config import ConfigError, load_config
from bot.config_errors import Problems
from bot.desk.suggestions import Shelf
from bot.events import Closed
from bot.kinds import EventKind
from bot.knowledge import KnowledgeBase
from bot.model import Audience, OutboundMessage, Status
from bot.reports import topics
from tests.unit.conftest import World, customer, make_world, staff

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"
ANSWERED = "I was charged twice this month"  # the fixture's duplicate-charge article
UNANSWERED = "Hello there, lovely weather today"


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    shutil.copytree(FIXTURE, tmp_path / "kb")
    return KnowledgeBase(tmp_path / "kb")


def with_kb(kb: KnowledgeBase, **settings: Any) -> World:
    world = make_world(**settings)
    world.desk.knowledge = Shelf(kb)
    return world


def _to_customer(world: World, kind: str) -> list[OutboundMessage]:
    return [m for m in world.out.delivered if m.audience is Audience.CUSTOMER and m.kind == kind]


def _notices(world: World, text: str) -> list[str]:
    return [m.body for m in world.out.delivered if m.kind == "notice" and text in m.body]


async def _press(world: World, button: str, name: str = "alice") -> None:
    outcome = await world.desk.handle(command_for_button(button), c.Caller(customer(name)))
    assert outcome.ok, outcome.text
    await world.delivered()


async def _digest(world: World) -> str:
    world.clock.advance(timedelta(minutes=1))  # the day's window ends before its moment
    outcome = await world.desk.handle(c.ShowDigest(), staff(is_lead=True))
    assert outcome.ok, outcome.text
    return outcome.text


def _self_served(world: World) -> list[Closed]:
    return [
        e.payload
        for e in world.store.events
        if isinstance(e.payload, Closed) and e.payload.self_served
    ]


async def test_the_first_offers_survey_route_button_still_solves(kb: KnowledgeBase) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    await world.delivered()
    await _press(world, "csat:0:1")  # sent before the offer had buttons of its own
    [ticket] = world.store.tickets.values()
    assert ticket.status is Status.CLOSED
    assert len(_self_served(world)) == 1


async def test_solved_again_after_a_reopen_changes_nothing(kb: KnowledgeBase) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    await world.delivered()
    await _press(world, "kb:solved:1")
    assert (await world.staff_says("/ticket reopen #1")).ok
    await world.delivered()
    await _press(world, "kb:solved:1")
    await _press(world, "csat:0:1")
    assert len(_self_served(world)) == 1
    assert len(_to_customer(world, "thanks")) == 1
    assert len(_notices(world, "closed as self-served")) == 1


async def test_solved_after_an_agent_closed_says_nothing(kb: KnowledgeBase) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    await world.staff_says("/ticket close #1 refunded")
    await world.delivered()
    await _press(world, "kb:solved:1")
    assert _to_customer(world, "thanks") == []
    assert _self_served(world) == []


async def test_solved_once_an_agent_answered_tells_the_agent_once(kb: KnowledgeBase) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    await world.desk.handle(c.RelayAgentMessage(1, "Looking at it"), staff(in_ticket=1))
    await world.delivered()
    await _press(world, "kb:solved:1")
    await _press(world, "kb:solved:1")
    await _press(world, "csat:0:1")
    [ticket] = world.store.tickets.values()
    assert ticket.status is not Status.CLOSED  # the agent closes; no deflection counted
    assert len(_notices(world, "the offered article solved it")) == 1
    assert len(_to_customer(world, "thanks")) == 1
    assert [e.kind for e in world.store.events].count(EventKind.KB_SOLVED) == 1
    assert "Self-served with an article" not in await _digest(world)


@pytest.mark.parametrize(
    ("locale", "reply"),
    [
        ("en", "Thanks for letting us know. An agent will be with you soon."),
        ("ja", "ご連絡ありがとうございます。担当者から折り返しご連絡します。"),
    ],
)
async def test_still_need_help_answers_the_customer_once(
    kb: KnowledgeBase, locale: str, reply: str
) -> None:
    world = with_kb(kb)
    question = ANSWERED if locale == "en" else "パスワードを忘れました"
    await world.customer_says(question, locale=locale)
    await world.delivered()
    [ack] = _to_customer(world, "ack")
    assert [a.id for a in ack.actions] == ["kb:solved:1", "kb:help:1"]
    await _press(world, "kb:help:1")
    await _press(world, "kb:help:1")
    await _press(world, "csat:help:1")  # the first offers' button means the same
    assert [m.body for m in _to_customer(world, "thanks")] == [reply]
    assert len(_notices(world, "still need")) == 1
    [ticket] = world.store.tickets.values()
    assert ticket.status is Status.OPEN


async def test_the_surveys_still_need_help_reopens_once(kb: KnowledgeBase) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    await world.staff_says("/ticket close #1 refunded")
    await world.delivered()
    await _press(world, "csat:help:1")
    await _press(world, "csat:help:1")
    [ticket] = world.store.tickets.values()
    assert ticket.status is Status.REOPENED
    assert len(_to_customer(world, "reopened")) == 1
    assert _to_customer(world, "thanks") == []
    assert len(_notices(world, "still need")) == 1


async def test_a_question_no_article_answers_is_listed_in_the_digest(
    kb: KnowledgeBase,
) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    await world.customer_says(UNANSWERED, name="ben")
    await world.customer_says("パスワードを忘れました", name="cyd", locale="ja")
    number = {t.id: t.number for t in world.store.tickets.values()}
    missed = [number[e.ticket_id] for e in world.store.events if e.kind is EventKind.KB_MISSED]
    assert missed == [2]
    await _press(world, "kb:solved:1")
    digest = await _digest(world)
    assert "Self-served with an article 1" in digest
    assert "**Questions no article answered** (1)\n• #2 Hello there, lovely weather today\n" in (
        digest
    )


async def test_the_list_of_questions_no_article_answered_stops_at_ten(
    kb: KnowledgeBase,
) -> None:
    world = with_kb(kb, locale="ja")
    for n in range(12):
        await world.customer_says(f"{UNANSWERED} {n}", name=f"c{n}")
    digest = await _digest(world)
    assert "**記事が見つからなかった質問**（12 件）\n" in digest
    assert "• #10 Hello there, lovely weather today 9\n• ほか 2 件" in digest
    assert "#11 " not in digest


async def test_a_desk_without_a_knowledge_base_records_no_miss_and_shows_no_list() -> None:
    world = make_world()
    await world.customer_says(UNANSWERED)
    assert not [e for e in world.store.events if e.kind is EventKind.KB_MISSED]
    digest = await _digest(world)
    assert "no article answered" not in digest


async def test_a_desk_with_a_knowledge_base_says_when_every_question_was_answered(
    kb: KnowledgeBase,
) -> None:
    world = with_kb(kb)
    await world.customer_says(ANSWERED)
    digest = await _digest(world)
    assert "**Questions no article answered**\n• none\n" in digest


async def test_the_digest_names_the_days_topics() -> None:
    world = make_world()
    for name, text in [
        ("ann", "Refund for my order"),
        ("ben", "I want a refund"),
        ("cyd", "Refunds take too long"),
        ("dan", "Invoice is wrong"),
        ("eve", "Where is the invoice?"),
        ("fay", "Printer on fire"),
    ]:
        await world.customer_says(text, name=name)
    digest = await _digest(world)
    assert "**Most asked about**\n• refund: 3 tickets\n• invoice: 2 tickets\n\n" in digest


def test_topics_skip_stop_words_numbers_and_one_off_terms() -> None:
    subjects = [
        "Refund please",
        "I want a refund",
        "Refunds for order 1234",
        "Order 1234 is late",
        "パスワードを忘れました",
        "パスワードが変更できない",
        "請求書の発行",
        "請求書が届かない",
        "Printer on fire",
    ]
    assert topics(subjects) == [
        ("refund", 3),
        ("order", 2),
        ("パスワード", 2),
        ("請求書", 2),
    ]
    assert topics(subjects, top=1) == [("refund", 3)]
    assert topics(["Printer on fire"]) == []


@pytest.mark.parametrize("written", ["high", "1.5", "-0.1", "nan"])
def test_a_bad_threshold_is_a_configuration_problem(written: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config({"SUPPORTBOT_KB_THRESHOLD": written}, dotenv=None)
    assert str(refused.value) == (
        f"SUPPORTBOT_KB_THRESHOLD: {written!r} is not a number from 0 to 1 (like 0.62)"
    )
    problems = Problems()
    load_config({"SUPPORTBOT_KB_THRESHOLD": written}, dotenv=None, problems=problems)
    assert [p.variable for p in problems.found] == ["SUPPORTBOT_KB_THRESHOLD"]


@pytest.mark.parametrize("written", ["", "0", "0.7", "1"])
def test_a_good_threshold_is_no_problem(written: str) -> None:
    load_config({"SUPPORTBOT_KB_THRESHOLD": written}, dotenv=None)
