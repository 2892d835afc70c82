"""Every template renders in every locale with the same variables."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import pytest

from bot.desk.history import HistoryLine
from bot.desk.transcripts import Said, Transcript
from bot.knowledge import Article, Hit
from bot.model import (
    Attachment,
    Block,
    Direction,
    Duty,
    Person,
    Reminder,
    ReminderKind,
    SimilarTicket,
    Snippet,
    Source,
    Status,
    Ticket,
    TicketMessage,
)
from bot.parser import USAGE
from bot.rendering import TEMPLATE_DIR, Renderer, available_locales
from bot.reports import AgentLine, DigestFigures, PlatformLine, UnclaimedTicket

LOCALES = available_locales()
BOB = Person("slack", "U1", "bob")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _template_names() -> list[str]:
    en = TEMPLATE_DIR / "en"
    return sorted(str(p.relative_to(en)) for p in en.rglob("*.j2"))


def _ticket() -> Ticket:
    return Ticket(
        id=1,
        number=42,
        subject="Printer on fire",
        customer_id=1,
        customer_name="Alice",
        locale="en",
        source=Source("slack", "T1", "D1"),
        created_at=NOW,
        assignee=Person("slack", "U1", "bob"),
        team="billing",
        escalation_level=1,
        earlier_tickets=2,
        similar=(
            SimilarTicket(7, "Printer smokes", "replaced the fuser", "C1", "1.2"),
            SimilarTicket(9, "Printer is hot", "deflected"),
        ),
    )


_ARTICLE = Article("toner", "en", "Toner", "Shake it.", url="https://help.example.com/toner")

_TRANSCRIPT: dict[str, Any] = {
    "tr": Transcript(
        number=42,
        subject="Printer on fire",
        customer="alice",
        platform="slack",
        status="Closed",
        priority="High",
        assignee="bob",
        team="billing",
        opened_at=NOW.isoformat(),
        closed_at=NOW.isoformat(),
        resolution="replaced",
        made_at=NOW.isoformat(),
        locale="en",
        timezone="Asia/Tokyo",
        for_customer=False,
        conversation=[
            Said(
                NOW.isoformat(), "alice", "customer", "hi", [{"name": "a.png", "url": "https://x"}]
            ),
            Said(NOW.isoformat(), "bob", "internal", "VIP"),
            Said(NOW.isoformat(), "bob", "agent", "fixed", delivered=False),
        ],
        history=[{"at": NOW.isoformat(), "text": "bob closed the ticket."}],
    ),
    "at": str,
}

VARIABLES: dict[str, dict[str, Any]] = {
    "relay.md.j2": {"text": "hello", "attachments": [Attachment("log.txt", "https://x/log")]},
    "customer/ack.md.j2": {
        "expected": "4 hours",
        "back": "Monday 8 December, 09:00 JST",
        "offered": [_ARTICLE, Article("printer", "en", "Printer fires", "Unplug it.")],
    },
    "customer/article.md.j2": {"article": _ARTICLE},
    "staff/similar.md.j2": {
        "number": 43,
        "rows": [(_ticket(), 0.7)],
        "deflected": "deflected",
        "reading": True,
    },
    "staff/kb.md.j2": {
        "query": "printer",
        "hits": [Hit(_ARTICLE, 3.2, 0.8)],
        "threshold": 0.62,
        "language": "English",
        "number": 42,
        "written": True,
    },
    "customer/farewell.md.j2": {"resolution": "fixed"},
    "customer/csat.md.j2": {},
    "customer/checkin.md.j2": {},
    "customer/reopened.md.j2": {"reason": "still broken"},
    "staff/card.md.j2": {
        "ticket": _ticket(),
        "status": "Open",
        "priority": "High",
        "category": "💳 Billing",
        "deflected": "deflected",
    },
    "staff/list.md.j2": {
        "tickets": [_ticket()],
        "filter": "open",
        "now": NOW,
        "labels": {"priority_normal": "Normal", "status_open": "Open"},
        "cut": 1,
    },
    "staff/show.md.j2": {
        "card": "CARD",
        "conversation": [
            TicketMessage(1, Direction.INBOUND, Person("s", "c", "alice"), "hi", NOW),
            TicketMessage(1, Direction.NOTE, BOB, "VIP", NOW, [Attachment("a.png", "https://x")]),
        ],
        "earlier": 3,
        "number": 42,
        "tz": "Asia/Tokyo",
        "history": [HistoryLine(NOW, "bob escalated the ticket to billing (level 2).")],
    },
    "staff/blocked.md.j2": {
        "blocks": [
            Block(1, BOB, NOW, NOW + timedelta(days=7), "spam", "mallory"),
            Block(2, BOB, NOW, None, "", "trent"),
        ],
        "tz": "Asia/Tokyo",
    },
    "transcript/transcript.html.j2": _TRANSCRIPT,
    "transcript/transcript.txt.j2": _TRANSCRIPT,
    "staff/snippets.md.j2": {
        "snippets": [
            {
                "en": Snippet("refund", "en", "Refunded, sorry.", in_config=True),
                "ja": Snippet("refund", "ja", "返金しました。", "bob"),
            }
        ]
    },
    "staff/duty.md.j2": {
        "rota": [(Duty(BOB, ("billing",), True, NOW), 3), (Duty(BOB, (), True, NOW), 0)],
        "cap": 10,
        "round_robin": True,
        "tz": "Asia/Tokyo",
    },
    "staff/help.md.j2": {"usage": USAGE, "prefixes": ("//",), "teams": ("billing",)},
    "customer/idle_nudge.md.j2": {"closes_in": "3 days"},
    "staff/followups.md.j2": {
        "rows": [
            {
                "reminder": Reminder(1, ReminderKind.FOLLOW_UP, NOW, BOB, NOW, note="call"),
                "ticket": _ticket(),
                "today": True,
            }
        ],
        "now": NOW,
        "tz": "Asia/Tokyo",
    },
    "staff/digest.md.j2": {
        "d": DigestFigures(
            NOW - timedelta(days=1),
            NOW,
            new=3,
            backlog={"open": {"high": 2}},
            platforms=[PlatformLine("slack", 3, 1, 2)],
            oldest_unclaimed=[UnclaimedTicket(7, "VPN", "slack", "high", NOW, "C1", "T1")],
            targets_decided=4,
            targets_met=3,
            first_responses=[60, 120],
            ratings=[5, 4],
            agents=[AgentLine("bob", 2, 1, [60], [5])],
            topics=[("refund", 3)],
            unanswered=[(8, "Where is my parcel?")],
        ),
        "tz": "UTC",
        "linked": True,
        "kb": True,
        "statuses": ["open"],
        "priorities": ["high"],
        "status_label": {"open": "Open"},
        "priority_label": {"high": "High"},
    },
}
CUSTOMER_COMMON = {"customer_name": "Alice", "number": 42, "subject": "Printer on fire"}


def test_every_locale_has_the_same_files() -> None:
    files = {
        loc: sorted(
            str(p.relative_to(TEMPLATE_DIR / loc))
            for p in (TEMPLATE_DIR / loc).rglob("*")
            if p.is_file()
        )
        for loc in LOCALES
    }
    assert {"en", "ja"} <= set(LOCALES)
    assert all(names == files["en"] for names in files.values())
    assert set(_template_names()) == set(VARIABLES)


@pytest.mark.parametrize("name", _template_names())
def test_each_template_uses_the_same_variables_in_every_locale(name: str) -> None:
    env = jinja2.Environment()
    env.filters.update(localtime=str, compact=str, percent=str, score=str)  # names only
    used = {
        loc: jinja2.meta.find_undeclared_variables(
            env.parse((TEMPLATE_DIR / loc / name).read_text("utf-8"))
        )
        for loc in LOCALES
    }
    assert all(v == used["en"] for v in used.values()), used


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", _template_names())
def test_each_template_renders_in_each_locale(locale: str, name: str) -> None:
    extra = CUSTOMER_COMMON if name.startswith("customer/") else {}
    text = Renderer().render(locale, name, **extra, **VARIABLES[name])
    assert text.strip()
    assert "{{" not in text
    assert "{%" not in text


def test_catalogs_have_the_same_keys_and_variables() -> None:
    renderer = Renderer()
    keys = {loc: renderer.keys(loc) for loc in LOCALES}
    assert all(k == keys["en"] for k in keys.values())
    pattern = re.compile(r"{{\s*(\w+)")
    import tomllib

    catalogs = {
        loc: tomllib.loads(Path(TEMPLATE_DIR / loc / "messages.toml").read_text("utf-8"))
        for loc in LOCALES
    }
    for key in keys["en"]:
        names = {loc: set(pattern.findall(catalogs[loc][key])) - {"t"} for loc in LOCALES}
        assert all(n == names["en"] for n in names.values()), (key, names)


def test_ticket_statuses_and_priorities_have_labels_everywhere() -> None:
    renderer = Renderer()
    for locale in LOCALES:
        for status in Status:
            assert renderer.text(locale, f"status_{status.value}")


def test_locale_fallbacks() -> None:
    renderer = Renderer()
    assert renderer.pick_locale("ja_JP") == "ja"
    assert renderer.pick_locale("ja-JP") == "ja"
    assert renderer.pick_locale("fr-FR") == "en"
    assert renderer.pick_locale("") == "en"
    assert Renderer(default_locale="ja").pick_locale("xx") == "ja"
    assert renderer.duration("en", timedelta(hours=1)) == "1 hour"
    assert renderer.duration("ja", timedelta(minutes=15)) == "15分"
    assert renderer.duration("en", timedelta(hours=2, minutes=30)) == "2 hours 30 minutes"
    assert renderer.duration("ja", timedelta(days=1, minutes=5)) == "1日5分"
