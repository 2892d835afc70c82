"""The knowledge base at the desk: articles offered with a new ticket's acknowledgement, the
self-served close, and `/ticket kb` for agents, against the fake unit of work."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import commands as c
from bot.app.bootstrap import kb_threshold, knowledge_base
from bot.buttons import command_for_button
from bot.config import Config
from bot.config_errors import ConfigError
from bot.desk.suggestions import Shelf
from bot.events import Closed
from bot.kinds import EventKind
from bot.knowledge import THRESHOLD, Article, Hit, KnowledgeBase
from bot.model import SYSTEM, Audience, OutboundMessage, ReminderStatus, Status, TicketEvent
from bot.reports import DEFLECTED, AuditLine, DigestView, digest_figures
from tests.unit.conftest import World, customer, make_world, staff

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"
QUESTION = "I was charged twice this month"


class Counting:
    """A knowledge base that counts its searches (the acknowledgement's cost)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.threshold = kb.threshold
        self.searches = 0

    def locales(self) -> list[str]:
        return self.kb.locales()

    def articles(self, locale: str | None = None) -> list[Article]:
        return self.kb.articles(locale)

    def search(self, text: str, locale: str, limit: int = 3) -> list[Hit]:
        self.searches += 1
        return self.kb.search(text, locale, limit)

    def confident(self, hits: Sequence[Hit]) -> list[Hit]:
        return self.kb.confident(hits)


@pytest.fixture
def kb(tmp_path: Path) -> Counting:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    (root / "en" / "english-only.md").write_text("# Only in English\n\nNot translated yet.\n")
    return Counting(KnowledgeBase(root))


def with_kb(kb: Counting, **settings: Any) -> World:
    world = make_world(**settings)
    world.desk.knowledge = Shelf(kb)
    return world


def _to_customer(world: World, kind: str) -> list[OutboundMessage]:
    return [m for m in world.out.delivered if m.audience is Audience.CUSTOMER and m.kind == kind]


async def _press(world: World, button: str, name: str = "alice") -> None:
    await world.desk.handle(command_for_button(button), c.Caller(customer(name)))
    await world.delivered()


async def test_an_article_that_surely_answers_is_offered_with_the_acknowledgement(
    kb: Counting,
) -> None:
    world = with_kb(kb)
    await world.customer_says(QUESTION)
    bodies = await world.delivered()
    [ack] = _to_customer(world, "ack")
    assert "This article may answer your question right away:" in ack.body
    assert "**Charged twice**" in ack.body
    assert "temporary authorisation" in ack.body  # no URL: the article's text, inline
    assert [(a.id, a.label) for a in ack.actions] == [
        ("kb:solved:1", "This solved it"),
        ("kb:help:1", "I still need help"),
    ]
    assert any("Offered to the customer: “Charged twice” (`duplicate-charge`" in b for b in bodies)


async def test_a_japanese_customer_is_offered_the_japanese_article_with_its_link(
    kb: Counting,
) -> None:
    world = with_kb(kb)
    await world.customer_says("パスワードを忘れました", locale="ja")
    await world.delivered()
    [ack] = _to_customer(world, "ack")
    assert "こちらの記事で解決できるかもしれません。" in ack.body
    assert (
        "**パスワードを再設定する**\nhttps://help.kumonotes.example/ja/reset-password" in ack.body
    )
    assert [a.label for a in ack.actions] == ["これで解決しました", "まだ解決していません"]


async def test_nothing_is_offered_when_nothing_fits(kb: Counting) -> None:
    world = with_kb(kb)
    await world.customer_says("Hello there, lovely weather today")
    await world.delivered()
    [ack] = _to_customer(world, "ack")
    assert "article" not in ack.body
    assert ack.actions == []


async def test_a_language_without_articles_costs_the_acknowledgement_no_search(
    tmp_path: Path,
) -> None:
    shutil.copytree(FIXTURE / "en", tmp_path / "only" / "en")
    kb = Counting(KnowledgeBase(tmp_path / "only"))
    world = with_kb(kb)
    assert world.desk.knowledge is not None
    assert await world.desk.knowledge.load() == ["en"]
    assert not world.desk.knowledge.may_have("ja")
    await world.customer_says("パスワードを忘れました", locale="ja")
    assert kb.searches == 0
    await world.customer_says(QUESTION, name="ben")
    assert kb.searches == 1


async def test_this_solved_it_closes_the_ticket_as_self_served(kb: Counting) -> None:
    world = with_kb(kb)
    await world.customer_says(QUESTION)
    await world.delivered()
    await _press(world, "kb:solved:1")
    [ticket] = world.store.tickets.values()
    assert ticket.status is Status.CLOSED
    assert ticket.resolution == DEFLECTED
    [thanks] = _to_customer(world, "thanks")
    assert thanks.body.startswith("Glad the article helped!")
    assert not _to_customer(world, "csat")
    assert not _to_customer(world, "farewell")
    assert all(r.status is not ReminderStatus.PENDING for r in world.store.reminders)
    closed = [e for e in world.store.events if e.kind is EventKind.CLOSED]
    assert len(closed) == 1
    assert closed[0].actor.ref == customer().ref
    await _press(world, "kb:solved:1")  # pressed again: nothing more
    assert len(_to_customer(world, "thanks")) == 1


async def test_once_an_agent_answered_the_agent_closes(kb: Counting) -> None:
    world = with_kb(kb)
    await world.customer_says(QUESTION)
    await world.desk.handle(c.RelayAgentMessage(1, "Looking at it"), staff(in_ticket=1))
    await world.delivered()
    await _press(world, "kb:solved:1")
    [ticket] = world.store.tickets.values()
    assert ticket.status is not Status.CLOSED
    notices = [m.body for m in world.out.delivered if m.kind == "notice"]
    assert "The customer says the offered article solved it. Close the ticket if you agree." in (
        notices
    )


async def test_i_still_need_help_keeps_the_ticket_open_and_tells_the_team(kb: Counting) -> None:
    world = with_kb(kb)
    await world.customer_says(QUESTION)
    await world.delivered()
    await _press(world, "kb:help:1")
    [ticket] = world.store.tickets.values()
    assert ticket.status is Status.OPEN
    assert "The customer says they still need help." in [
        m.body for m in world.out.delivered if m.kind == "notice"
    ]


async def test_agents_search_in_the_tickets_language_and_send_in_it(kb: Counting) -> None:
    world = with_kb(kb)
    await world.customer_says("パスワードを忘れました", locale="ja")
    found = await world.staff_says("/ticket kb パスワード", in_ticket=1)
    assert found.text.startswith("Articles for “パスワード” in Japanese, the language of")
    assert "• `reset-password` " in found.text
    assert "`/ticket kb send <article> #1`" in found.text
    english = await world.staff_says("/ticket kb search forgot my password")
    assert "in English:" in english.text
    assert "`reset-password`" in english.text
    sent = await world.staff_says("/ticket kb send reset-password", in_ticket=1)
    assert sent.ok, sent.text
    await world.delivered()
    [reply] = _to_customer(world, "agent_reply")
    assert reply.body == (
        "**パスワードを再設定する**\nhttps://help.kumonotes.example/ja/reset-password"
    )
    assert any("bob sent the article “reset-password”" in m.body for m in world.out.delivered)


async def test_an_article_without_the_customers_language_is_not_sent(kb: Counting) -> None:
    world = with_kb(kb)
    await world.customer_says("パスワードを忘れました", locale="ja")
    await world.delivered()
    before = len(world.out.delivered)
    refused = await world.staff_says("/ticket kb send english-only #1")
    assert not refused.ok
    assert refused.text.startswith(
        "Not sent: the article “english-only” has no Japanese version, the language of #1’s "
        "customer (it is written in English)."
    )
    unknown = await world.staff_says("/ticket kb send no-such-article #1")
    assert unknown.text.startswith("There is no article “no-such-article”.")
    await world.delivered()
    assert len(world.out.delivered) == before


async def test_a_desk_without_a_knowledge_base_says_so() -> None:
    world = make_world()
    outcome = await world.staff_says("/ticket kb refund")
    assert not outcome.ok
    assert outcome.text.startswith("There is no knowledge base")
    await world.customer_says(QUESTION)
    await world.delivered()
    assert _to_customer(world, "ack")[0].actions == []


async def test_a_japanese_desk_lists_articles_in_japanese(kb: Counting) -> None:
    world = with_kb(kb, locale="ja")
    found = await world.staff_says("/ticket kb ログインできない")
    assert found.text.startswith("「ログインできない」に合う日本語の記事：")
    assert "`/ticket kb send <記事名>` でお客様に送信できます。" in found.text
    none = await world.staff_says("/ticket kb zzzz qqqq")
    assert none.text == "「zzzz qqqq」に合う日本語の記事はありません。"


def test_self_served_closes_are_counted_apart_in_the_digest() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)

    def closed(what: Closed, actor: str, ticket: int) -> AuditLine:
        data = TicketEvent.of(ticket, what, SYSTEM, at).data  # as stored
        return AuditLine(EventKind.CLOSED, actor, actor, data, "slack", None, None, ticket, at)

    view = DigestView(
        at,
        at,
        events=[
            closed(Closed(DEFLECTED, 60, self_served=True), "U-ann", 1),
            closed(Closed("fixed", 60), "S-bob", 2),
            # an agent who writes the same word as a resolution closed the ticket themselves
            closed(Closed(DEFLECTED, 60), "S-cyd", 3),
        ],
    )
    found = digest_figures(view)
    assert (found.closed, found.deflected, found.resolutions) == (2, 1, [60, 60])
    # the customer is nobody's agent
    assert sorted(a.name for a in found.agents) == ["S-bob", "S-cyd"]


def test_the_threshold_setting(tmp_path: Path) -> None:
    assert kb_threshold(Config()) == THRESHOLD
    assert kb_threshold(Config(env={"SUPPORTBOT_KB_THRESHOLD": "0.7"})) == 0.7
    with pytest.raises(ConfigError, match="'high' is not a number from 0 to 1"):
        kb_threshold(Config(env={"SUPPORTBOT_KB_THRESHOLD": "high"}))
    assert knowledge_base(Config(env={"SUPPORTBOT_KB_DIR": str(tmp_path / "none")})) is None
    (tmp_path / "kb").mkdir()
    env = {"SUPPORTBOT_KB_DIR": str(tmp_path / "kb"), "SUPPORTBOT_KB_THRESHOLD": "0.9"}
    built = knowledge_base(Config(env=env))
    assert built is not None
    assert built.threshold == 0.9
