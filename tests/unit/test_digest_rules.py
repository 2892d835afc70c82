"""The digest's rules live in the core: from the plain rows storage reads, who counts as an
agent and whose rating a rating is, without a database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.kinds import EventKind
from bot.model import SYSTEM
from bot.reports import AuditLine, DigestView, digest_figures

UNTIL = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


_TICKETS = itertools.count(1)


def event(
    kind: EventKind,
    actor: str | None,
    assignee: str | None = None,
    *,
    ticket: int | None = None,  # a ticket of its own unless given
    minute: int = 0,
    **data: int,
) -> AuditLine:
    name = actor.title() if actor else None
    holder = assignee.title() if assignee else None
    ticket_id = ticket if ticket is not None else next(_TICKETS) + 1000
    at = UNTIL - timedelta(hours=2) + timedelta(minutes=minute)
    return AuditLine(kind, actor, name, dict(data), "slack", assignee, holder, ticket_id, at)


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


def test_a_figure_counts_tickets_not_presses() -> None:
    # one ticket, worked twice in the day: closed, reopened, closed again, rated twice
    view = DigestView(
        UNTIL - timedelta(days=1),
        UNTIL,
        new_by_platform={"slack": 1},
        events=[
            event(EventKind.CLAIMED, "bob", ticket=1, minute=1),
            event(EventKind.CLOSED, "bob", ticket=1, minute=2, resolution_seconds=600),
            event(EventKind.RATED, "alice", "bob", ticket=1, minute=3, score=2),
            event(EventKind.REOPENED, "alice", ticket=1, minute=4),
            event(EventKind.CLAIMED, "bob", ticket=1, minute=5),
            event(EventKind.REOPENED, "alice", ticket=1, minute=6),
            event(EventKind.CLOSED, "bob", ticket=1, minute=7, resolution_seconds=1800),
            event(EventKind.RATED, "alice", "bob", ticket=1, minute=9, score=5),
            event(
                EventKind.RATED, "alice", "bob", ticket=1, minute=8, score=4
            ),  # read out of order
        ],
    )
    found = digest_figures(view)
    assert (found.new, found.closed, found.reopened) == (1, 1, 1)
    assert found.resolutions == [1800]  # its last close
    assert found.ratings == [5]  # the last press counts, once
    [bob] = found.agents
    assert (bob.claimed, bob.closed, bob.ratings) == (1, 1, [5])
