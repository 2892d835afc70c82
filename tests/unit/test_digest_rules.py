"""The digest's rules live in the core: from the plain rows storage reads, who counts as an
agent and whose rating a rating is, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.kinds import EventKind
from bot.model import SYSTEM
from bot.reports import AuditLine, DigestView, digest_figures

UNTIL = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def event(
    kind: EventKind, actor: str | None, assignee: str | None = None, **data: int
) -> AuditLine:
    name = actor.title() if actor else None
    holder = assignee.title() if assignee else None
    return AuditLine(kind, actor, name, dict(data), "slack", assignee, holder)


def test_the_bots_own_closes_and_customers_ratings_are_no_agents_work() -> None:
    view = DigestView(
        UNTIL - timedelta(days=1),
        UNTIL,
        new_by_platform={"slack": 2, "discord": 1},
        events=[
            event(EventKind.CLAIMED, "bob"),
            event(EventKind.FIRST_RESPONSE, "bob", seconds=600),
            event(EventKind.CLOSED, "bob", resolution_seconds=3600),
            event(EventKind.CLOSED, SYSTEM.ref, resolution_seconds=7200),  # idle, closed by us
            event(EventKind.RATED, "alice", assignee="bob", score=5),  # the customer rates
            event(EventKind.REOPENED, "alice"),
        ],
        backlog=[("open", "normal", "slack", 3), ("open", "high", "discord", 1)],
        responded={1: None, 2: UNTIL},
        breached={2, 3},
    )
    found = digest_figures(view)
    assert (found.new, found.closed, found.reopened) == (3, 2, 1)
    assert [(a.name, a.claimed, a.closed, a.ratings) for a in found.agents] == [
        ("Bob", 1, 1, [5])
    ]  # not the bot, not the customer
    assert found.median_first_response == timedelta(minutes=10)
    assert found.backlog == {"open": {"normal": 3, "high": 1}}
    assert found.backlog_total == 4
    assert (found.targets_decided, found.targets_met, found.breaches) == (3, 1, 2)
    assert [(p.platform, p.new, p.closed, p.backlog) for p in found.platforms] == [
        ("discord", 1, 0, 1),
        ("slack", 2, 2, 3),
    ]
