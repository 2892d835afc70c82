"""What the leads' digest reports, and its rules: storage answers plain queries about the
window (a `DigestView`), and `digest_figures` decides what counts (whose work an event is,
whose rating a rating is)."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.events import Closed, Escalated, FirstResponse, Payload, Rated, Reopened, payload_of
from bot.kinds import EventKind
from bot.knowledge.text import STOP_WORDS, Analyser, normalise, words
from bot.model import SYSTEM

# the resolution of a ticket the customer closed with "This solved it" under an article the
# desk offered: self-served, so it counts as deflected, not as an agent's close
DEFLECTED = "deflected"


@dataclass
class UnclaimedTicket:
    number: int
    subject: str
    platform: str
    priority: str
    created_at: datetime
    staff_channel: str
    staff_thread: str


@dataclass
class PlatformLine:
    platform: str
    new: int = 0
    closed: int = 0
    backlog: int = 0


@dataclass
class AgentLine:
    name: str
    claimed: int = 0
    closed: int = 0
    first_responses: list[int] = field(default_factory=list)  # seconds
    ratings: list[int] = field(default_factory=list)

    @property
    def median_first_response(self) -> timedelta | None:
        return median_duration(self.first_responses)

    @property
    def csat_average(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None


@dataclass
class TagLine:
    """One tag's tickets in the window (opened, or worked on) and their first responses."""

    tag: str
    tickets: int = 0
    first_responses: list[int] = field(default_factory=list)  # seconds

    @property
    def median_first_response(self) -> timedelta | None:
        return median_duration(self.first_responses)


@dataclass
class DigestFigures:
    since: datetime
    until: datetime
    new: int = 0
    closed: int = 0
    deflected: int = 0  # closed by the customer: an offered article solved it
    reopened: int = 0
    escalated: int = 0
    backlog: dict[str, dict[str, int]] = field(default_factory=dict)  # status -> priority -> n
    platforms: list[PlatformLine] = field(default_factory=list)
    oldest_unclaimed: list[UnclaimedTicket] = field(default_factory=list)
    targets_decided: int = 0  # tickets whose first response came, or whose target passed
    targets_met: int = 0
    breaches: int = 0
    first_responses: list[int] = field(default_factory=list)  # seconds
    resolutions: list[int] = field(default_factory=list)  # seconds
    ratings: list[int] = field(default_factory=list)
    follow_ups_due_today: int = 0
    agents: list[AgentLine] = field(default_factory=list)
    tags: list[TagLine] = field(default_factory=list)
    topics: list[tuple[str, int]] = field(default_factory=list)  # term, new tickets with it
    unanswered: list[tuple[int, str]] = field(default_factory=list)  # number, subject

    @property
    def backlog_total(self) -> int:
        return sum(sum(by_priority.values()) for by_priority in self.backlog.values())

    @property
    def target_share(self) -> float | None:
        return self.targets_met / self.targets_decided if self.targets_decided else None

    @property
    def median_first_response(self) -> timedelta | None:
        return median_duration(self.first_responses)

    @property
    def median_resolution(self) -> timedelta | None:
        return median_duration(self.resolutions)

    @property
    def csat_average(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None


def median_duration(seconds: Iterable[int]) -> timedelta | None:
    values = list(seconds)
    return timedelta(seconds=statistics.median(values)) if values else None


@dataclass
class AuditLine:
    """One audit event of the window, with its ticket's platform and assignee."""

    kind: EventKind
    actor_ref: str | None
    actor_name: str | None
    data: dict[str, Any]
    platform: str
    assignee_ref: str | None
    assignee_name: str | None
    ticket_id: int
    at: datetime
    tagged: str = ""  # the ticket's tags as stored (" billing vip "), as it has them now

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.tagged.split())

    @property
    def payload(self) -> Payload | None:
        return payload_of(self.kind, self.data)


# the events the digest counts; closes, claims and first responses are an agent's own work
# (customers act too: a rating is the customer's, and counts for the ticket's assignee)
COUNTED = (
    EventKind.CLOSED,
    EventKind.REOPENED,
    EventKind.ESCALATED,
    EventKind.CLAIMED,
    EventKind.FIRST_RESPONSE,
    EventKind.RATED,
)
_AGENTS_OWN = (EventKind.CLOSED, EventKind.CLAIMED, EventKind.FIRST_RESPONSE)


@dataclass
class DigestView:
    """What storage reads for the window [since, until): plain rows, no rules."""

    since: datetime
    until: datetime
    new_by_platform: dict[str, int] = field(default_factory=dict)
    events: list[AuditLine] = field(default_factory=list)  # of the COUNTED kinds
    backlog: list[tuple[str, str, str, int]] = field(default_factory=list)  # status, priority,
    # platform, tickets (those not closed)
    oldest_unclaimed: list[UnclaimedTicket] = field(default_factory=list)
    responded: dict[int, datetime | None] = field(default_factory=dict)  # ticket -> breached at
    breached: set[int] = field(default_factory=set)  # tickets whose target passed in the window
    follow_ups_due_today: int = 0
    new_tagged: dict[int, tuple[str, ...]] = field(default_factory=dict)  # opened, with tags
    new_subjects: list[str] = field(default_factory=list)  # of the tickets opened
    # number and subject of the tickets opened whose question no article answered, in order
    unanswered: list[tuple[int, str]] = field(default_factory=list)


def digest_figures(view: DigestView) -> DigestFigures:
    figures = DigestFigures(view.since, view.until)
    platforms: dict[str, PlatformLine] = {}

    def line(platform: str) -> PlatformLine:
        return platforms.setdefault(platform, PlatformLine(platform))

    for platform, count in view.new_by_platform.items():
        line(platform).new = count
        figures.new += count
    counted = _once_per_ticket(view.events)
    figures.agents = _count_events(figures, counted, line)
    figures.tags = _by_tag(view.new_tagged, counted)
    for status, priority, platform, count in view.backlog:
        by_priority = figures.backlog.setdefault(status, {})
        by_priority[priority] = by_priority.get(priority, 0) + count
        line(platform).backlog += count
    figures.oldest_unclaimed = list(view.oldest_unclaimed)
    figures.targets_decided = len(view.responded.keys() | view.breached)
    figures.targets_met = sum(1 for at in view.responded.values() if at is None)
    figures.breaches = len(view.breached)
    figures.follow_ups_due_today = view.follow_ups_due_today
    figures.platforms = sorted(platforms.values(), key=lambda p: p.platform)
    figures.topics = topics(view.new_subjects)
    figures.unanswered = list(view.unanswered)
    return figures


TOPICS = 5
# a topic is a word: Japanese katakana and kanji runs whole (パスワード, 請求書), which read
# better to a lead than the search's overlapping kanji pairs
_KATAKANA_WORD = r"[\u30a0-\u30ffー]{2,}"
_KANJI_WORD = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶ]{2,}"
_JAPANESE_WORD = re.compile(f"{_KATAKANA_WORD}|{_KANJI_WORD}")
_TOPIC_TERMS = Analyser(synonyms=False, segment=_JAPANESE_WORD.findall)


def topics(subjects: Iterable[str], top: int = TOPICS) -> list[tuple[str, int]]:
    """The terms most new tickets' subjects share, with how many tickets have each (once per
    ticket); stop words, numbers and a term only one ticket has are no topic. An English
    term is shown as the word most tickets wrote for its stem (refund, not refund/refunds)."""
    tickets: Counter[str] = Counter()
    written: dict[str, Counter[str]] = {}
    for subject in subjects:
        text = normalise(subject)
        terms = _TOPIC_TERMS.terms(text)
        latin = [w for w in words(text) if w not in STOP_WORDS]  # as terms() stems them
        found = dict(zip(terms[: len(latin)], latin, strict=True))
        found.update((term, term) for term in terms[len(latin) :])
        for term, word in found.items():
            if len(term) < 2 or term.isdigit():
                continue
            tickets[term] += 1
            written.setdefault(term, Counter())[word] += 1
    shared = sorted((-n, term) for term, n in tickets.items() if n > 1)[:top]
    return [(written[term].most_common(1)[0][0], -n) for n, term in shared]


def _once_per_ticket(events: Iterable[AuditLine]) -> list[AuditLine]:
    """A figure counts tickets, not presses: a ticket closed twice in the window is one
    close (its last, credited to whoever closed it last), a rating pressed twice is its last
    score, and an agent who claimed a ticket twice claimed it once."""
    last: dict[tuple[EventKind, int, str | None], AuditLine] = {}
    for event in sorted(events, key=lambda e: e.at):
        whose = event.actor_ref if event.kind is EventKind.CLAIMED else None
        last[(event.kind, event.ticket_id, whose)] = event
    return list(last.values())


def _by_tag(new_tagged: dict[int, tuple[str, ...]], events: list[AuditLine]) -> list[TagLine]:
    tickets: dict[str, set[int]] = {}
    lines: dict[str, TagLine] = {}
    tagged_events = [e for e in events if e.tagged]  # most tickets carry no tag
    for ticket_id, tags in [*new_tagged.items(), *((e.ticket_id, e.tags) for e in tagged_events)]:
        for tag in tags:
            tickets.setdefault(tag, set()).add(ticket_id)
    for tag, ids in tickets.items():
        lines[tag] = TagLine(tag, len(ids))
    for event in tagged_events:
        if isinstance(event.payload, FirstResponse):
            for tag in event.tags:
                lines[tag].first_responses.append(event.payload.seconds)
    return sorted(lines.values(), key=lambda line: (-line.tickets, line.tag))


def _count_events(
    figures: DigestFigures, events: Iterable[AuditLine], line: Callable[[str], PlatformLine]
) -> list[AgentLine]:
    agents: dict[str, AgentLine] = {}

    def agent(ref: str | None, name: str | None) -> AgentLine | None:
        if not ref or ref == SYSTEM.ref:  # the bot's own closes are not an agent's work
            return None
        found = agents.setdefault(ref, AgentLine(name or ref))
        found.name = name or found.name
        return found

    for event in events:
        kind, payload = event.kind, event.payload
        if isinstance(payload, Closed) and payload.self_served:
            figures.deflected += 1  # the customer's own close: no agent's, no resolution time
            continue
        by_actor = agent(event.actor_ref, event.actor_name) if kind in _AGENTS_OWN else None
        match payload:
            case Closed(resolution_seconds=seconds):
                figures.closed += 1
                line(event.platform).closed += 1
                figures.resolutions.append(seconds)
                if by_actor:
                    by_actor.closed += 1
            case Reopened():
                figures.reopened += 1
            case Escalated():
                figures.escalated += 1
            case FirstResponse(seconds=seconds):
                figures.first_responses.append(seconds)
                if by_actor:
                    by_actor.first_responses.append(seconds)
            case Rated(score=score):
                figures.ratings.append(score)
                holder = agent(event.assignee_ref, event.assignee_name)
                if holder:
                    holder.ratings.append(score)
            case None if kind is EventKind.CLAIMED and by_actor:
                by_actor.claimed += 1
    return sorted(agents.values(), key=lambda a: a.name.lower())
