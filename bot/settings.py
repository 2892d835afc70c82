"""Desk settings the core reads (teams, note prefixes, targets); loaded by bot.config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from bot.business_hours import BusinessHours
from bot.categories import Category
from bot.model import Priority
from bot.triage import DEFAULT_KEYWORDS

DEFAULT_TARGETS: dict[Priority, timedelta] = {
    Priority.URGENT: timedelta(minutes=15),
    Priority.HIGH: timedelta(hours=1),
    Priority.NORMAL: timedelta(hours=4),
    Priority.LOW: timedelta(days=1),
}


@dataclass(frozen=True)
class FollowUpPolicy:
    """After-care: a follow-up this long after every close, unless the agent chose one."""

    enabled: bool = True
    after_close: timedelta = timedelta(days=3)
    per_priority: dict[Priority, timedelta] = field(default_factory=dict)
    auto_checkin: bool = False  # send the customer the check-in without waiting for an agent

    def delay_for(self, priority: Priority) -> timedelta | None:
        if not self.enabled:
            return None
        return self.per_priority.get(priority, self.after_close)


@dataclass(frozen=True)
class IdlePolicy:
    """Tickets waiting on the customer: a nudge to the customer, then a close."""

    enabled: bool = True
    nudge_after: timedelta = timedelta(days=2)
    close_after: timedelta = timedelta(days=5)


@dataclass(frozen=True)
class RoutingPolicy:
    """Round-robin: a new ticket (or one escalated to a team) goes to the on-duty agent with
    the fewest open tickets, skipping those at `max_open`."""

    round_robin: bool = True  # nothing happens until someone goes on duty
    max_open: int = 10
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)  # team -> agent refs


@dataclass(frozen=True)
class DeskSettings:
    locale: str = "en"
    timezone: str = "UTC"
    teams: tuple[str, ...] = ("tier2", "billing", "engineering")
    note_prefixes: tuple[str, ...] = ("//", "note:")
    keywords: dict[Priority, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_KEYWORDS)
    )
    first_response_targets: dict[Priority, timedelta] = field(
        default_factory=lambda: dict(DEFAULT_TARGETS)
    )
    subject_length: int = 80
    business_hours: BusinessHours | None = None  # None: targets count in wall time
    follow_ups: FollowUpPolicy = field(default_factory=FollowUpPolicy)
    idle: IdlePolicy = field(default_factory=IdlePolicy)
    digest_time: time = time(9, 0)  # in `timezone`
    # a short thanks this soon after a close joins the closed ticket (0: never)
    thanks_grace: timedelta = timedelta(minutes=10)
    # the farewell offers the customer a copy of the transcript (notes and history left out)
    customer_transcripts: bool = False
    # saved replies from the configuration file: name -> language -> text
    snippets: dict[str, dict[str, str]] = field(default_factory=dict)
    anonymous_replies: bool = False  # every reply in the team's voice
    team_name: str = ""  # the name customers see for it ("" : "Support team", translated)
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    categories: dict[str, Category] = field(default_factory=dict)  # by name; "general" aside
    # platforms whose adapter has a leads channel (set at start from the running adapters)
    lead_platforms: tuple[str, ...] = ()
