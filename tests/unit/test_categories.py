"""Intake categories: a form's category routes the ticket to its team with its priority and
its own first-response target, and the answers to its questions are on the card."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot import commands as c
from bot.categories import Category
from bot.config import ConfigError, load_config
from bot.kinds import MessageKind
from bot.model import Priority
from bot.settings import RoutingPolicy
from tests.unit.conftest import PLATFORM, customer, dm, make_world

BILLING = Category(
    "billing",
    {"en": "Billing", "ja": "請求"},
    "💳",
    ({"en": "Invoice number?", "ja": "請求書番号は？"}, {"en": "Amount?", "ja": "金額は？"}),
    team="billing",
    priority=Priority.HIGH,
    first_response=timedelta(minutes=30),
)


async def _open_from_form(world, answers, locale: str = "en"):  # type: ignore[no-untyped-def]
    alice = customer()
    return await world.desk.handle(
        c.OpenTicket(
            alice,
            dm(),
            "I was charged twice",
            subject="Double charge",
            locale=locale,
            category="billing",
            answers=answers,
        ),
        c.Caller(alice),
    )


async def test_a_category_routes_the_ticket_and_its_answers_are_on_the_card() -> None:
    world = make_world(
        categories={"billing": BILLING},
        routing=RoutingPolicy(members={"billing": (f"{PLATFORM}:S-carol",)}),
    )
    await world.staff_says("/ticket duty on", name="bob")
    await world.staff_says("/ticket duty on", name="carol")
    await _open_from_form(world, (("Invoice number?", "INV-42"), ("Amount?", "¥3,000")))
    await world.sender.drain()
    [ticket] = world.store.tickets.values()
    assert (ticket.team, ticket.priority, ticket.category) == ("billing", Priority.HIGH, "billing")
    assert ticket.assignee is not None
    assert ticket.assignee.name == "carol"  # billing's agent on duty, not bob
    [card] = [m for m in world.out.delivered if m.kind == MessageKind.CARD]
    assert "Category: 💳 Billing" in card.body
    assert "**Invoice number?** INV-42" in card.body
    assert "Team: billing\n" in card.body + "\n"  # no escalation level for a routed ticket
    [ack] = [m for m in world.out.delivered if m.kind == MessageKind.ACK]
    assert "will answer within 30 minutes." in ack.body  # the category's own target


async def test_a_plain_message_is_general_and_a_keyword_still_raises_the_priority() -> None:
    world = make_world(categories={"billing": BILLING})
    await world.customer_says("Hello")
    await _open_from_form(world, ())
    urgent = customer("ben")
    await world.desk.handle(
        c.OpenTicket(urgent, dm("ben"), "Site down, urgent!", category="billing"), c.Caller(urgent)
    )
    tickets = sorted(world.store.tickets.values(), key=lambda t: t.number)
    assert [(t.category, t.priority) for t in tickets] == [
        ("general", Priority.NORMAL),
        ("billing", Priority.HIGH),
        ("billing", Priority.URGENT),
    ]
    shown = await world.staff_says("/ticket show #1")
    assert "Category:" not in shown.text


def test_forms_get_the_categories_in_the_customers_language() -> None:
    world = make_world(categories={"billing": BILLING})
    [choice] = world.desk.categories("ja-JP")
    assert (choice.name, choice.label, choice.emoji) == ("billing", "請求", "💳")
    assert choice.questions == ["請求書番号は？", "金額は？"]
    assert world.desk.categories()[0].questions == ["Invoice number?", "Amount?"]


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        (
            "[categories.billing]\nlabel = 'Billing'\nquestions = "
            "[" + ", ".join(["{ en = 'Q?' }"] * 6) + "]",
            "categories.billing.questions: at most 5 questions",
        ),
        ("[categories.billing]\nlabel = 'Billing'\nteam = 'sales'", "no team 'sales'"),
        ("[categories.billing]\nlabel = 'Billing'\npriority = 'asap'", "'asap' is not one of"),
        ("[categories.billing]\nlabel = { fr = 'Factures' }", "label.fr: the languages are"),
        (
            "[categories.billing]\nlabel = 'Billing'\nquestions = [{ en = '" + "x" * 46 + "' }]",
            "must be a text of 1 to 45 characters",
        ),
    ],
)
def test_bad_categories_are_refused_saying_why(tmp_path: Path, toml: str, said: str) -> None:
    path = tmp_path / "desk.toml"
    path.write_text(toml, "utf-8")
    with pytest.raises(ConfigError, match=said):
        load_config({"SUPPORTBOT_CONFIG": str(path)}, dotenv=tmp_path / ".env")


def test_a_category_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "desk.toml"
    path.write_text(
        "[categories.billing]\n"
        'label = { en = "Billing", ja = "請求" }\nemoji = "💳"\n'
        'questions = [{ en = "Invoice number?", ja = "請求書番号は？" }]\n'
        'team = "billing"\npriority = "high"\nfirst_response = "30m"\n',
        "utf-8",
    )
    desk = load_config({"SUPPORTBOT_CONFIG": str(path)}, dotenv=tmp_path / ".env").desk
    assert desk.categories["billing"] == Category(
        "billing",
        {"en": "Billing", "ja": "請求"},
        "💳",
        ({"en": "Invoice number?", "ja": "請求書番号は？"},),
        "billing",
        Priority.HIGH,
        timedelta(minutes=30),
    )


async def test_a_lower_category_priority_holds_and_a_raised_ticket_gets_its_target() -> None:
    questions = Category("questions", {"en": "Questions"}, priority=Priority.LOW)
    world = make_world(categories={"billing": BILLING, "questions": questions})
    alice = customer()
    await world.desk.handle(
        c.OpenTicket(alice, dm(), "How do I export?", category="questions"), c.Caller(alice)
    )
    await _open_from_form(world, ())
    await world.staff_says("/ticket priority #2 urgent")
    world.clock.advance(timedelta(minutes=20))  # past urgent's 15 minutes, within 30
    await world.fire_due()
    await world.sender.drain()
    [first, second] = sorted(world.store.tickets.values(), key=lambda t: t.number)
    assert first.priority is Priority.LOW
    assert second.sla_breached_at is not None  # urgent's target, not the category's 30m
