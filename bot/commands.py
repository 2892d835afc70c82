"""Commands: what adapters ask the desk to do, as plain dataclasses (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.model import Attachment, Person, Priority, Source


@dataclass(frozen=True)
class Caller:
    """Who is asking, from where, and which inbound event carried it.

    The adapter decides who is staff (a role, a channel membership) and resolves
    mentions in the text to people, so the core never needs a platform API.
    """

    actor: Person
    is_staff: bool = False
    is_lead: bool = False
    in_ticket: int | None = None  # the ticket whose thread the command was given in
    event_id: str = ""  # platform event id; (platform, event id) is processed once
    mentions: dict[str, Person] = field(default_factory=dict)
    # refs of the mentioned people who are staff: a ticket is assigned only to one of them
    mentioned_staff: frozenset[str] = frozenset()
    locale: str = ""  # the caller's language where the platform tells it (buttons)
    # (channel, message id) the event stands at in the platform's history: remembered with
    # it, so what was written while the bot was away is fetched from there on its return
    seen: tuple[str, str] | None = None
    # team membership the platform keeps (a Slack user group, a Discord role), as the adapter
    # read it: the teams the caller is on, and the teams that have such a group at all
    teams: frozenset[str] = frozenset()
    grouped_teams: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RelayCustomerMessage:
    """A customer wrote: continue their open ticket in this conversation, or open one."""

    customer: Person
    source: Source
    text: str
    locale: str = ""
    attachments: tuple[Attachment, ...] = ()
    timezone: str = ""  # the customer's IANA time zone, where the platform tells it


@dataclass(frozen=True)
class OpenTicket:
    """Always a new ticket (a panel form, or an agent turning a message into a ticket)."""

    customer: Person
    source: Source
    text: str
    subject: str = ""
    locale: str = ""
    attachments: tuple[Attachment, ...] = ()
    category: str = ""  # from a form; a name bot.categories does not know means "general"
    answers: tuple[tuple[str, str], ...] = ()  # the category's questions, as asked, answered
    timezone: str = ""  # the customer's IANA time zone, where the platform tells it


@dataclass(frozen=True)
class RelayAgentMessage:
    """An agent wrote in a ticket's staff thread: to the customer, or an internal note."""

    number: int
    text: str
    attachments: tuple[Attachment, ...] = ()
    source_message_id: str = ""  # the agent's own message, so the adapter can mark it


@dataclass(frozen=True)
class ClaimTicket:
    number: int | None = None


@dataclass(frozen=True)
class AssignTicket:
    agent: str
    number: int | None = None


@dataclass(frozen=True)
class EscalateTicket:
    team: str
    reason: str = ""
    number: int | None = None


@dataclass(frozen=True)
class CloseTicket:
    resolution: str = ""
    number: int | None = None
    follow_up: timedelta | None = None  # chosen in the Close form; else the desk's policy


@dataclass(frozen=True)
class ReopenTicket:
    reason: str = ""
    number: int | None = None


@dataclass(frozen=True)
class AddNote:
    text: str
    number: int | None = None


@dataclass(frozen=True)
class SetPriority:
    priority: Priority
    number: int | None = None


@dataclass(frozen=True)
class ScheduleFollowUp:
    delay: timedelta
    note: str = ""
    number: int | None = None


@dataclass(frozen=True)
class ListTickets:
    filter: str = "open"  # mine | open | unclaimed | escalated | closed | all
    customer: str = ""  # a customer's ref (platform:user id): their tickets only
    assignee: str = ""  # an agent's ref: their tickets only
    since: datetime | None = None  # opened at or after
    tag: str = ""  # tickets with this tag only
    limit: int = 50


@dataclass(frozen=True)
class ShowTicket:
    number: int | None = None
    whole: bool = False  # every message (the terminal); chat shows the latest few


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class BlockCustomer:
    """Their messages open no ticket and reach no one, for `duration` (None: until lifted)."""

    customer: str = ""  # a mention; else the customer of ticket `number` (or the thread's)
    number: int | None = None
    duration: timedelta | None = None
    reason: str = ""


@dataclass(frozen=True)
class UnblockCustomer:
    customer: str = ""
    number: int | None = None


@dataclass(frozen=True)
class TagTicket:
    tags: tuple[str, ...]  # normalised (bot.tags)
    number: int | None = None


@dataclass(frozen=True)
class UntagTicket:
    tags: tuple[str, ...]
    number: int | None = None


@dataclass(frozen=True)
class AddSnippet:
    name: str
    text: str
    locale: str = "en"


@dataclass(frozen=True)
class RemoveSnippet:
    name: str


@dataclass(frozen=True)
class ListSnippets:
    pass


@dataclass(frozen=True)
class SendSnippet:
    """The saved reply to the customer, in their language."""

    name: str
    number: int | None = None


@dataclass(frozen=True)
class ReplyAsTeam:
    """A reply the customer sees from the team, not from the agent."""

    text: str
    number: int | None = None


@dataclass(frozen=True)
class SetDuty:
    """On duty (for these teams; none: every team the agent is on), or off."""

    on: bool
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShowDuty:
    """Who is on duty, for which teams, holding how many open tickets."""


@dataclass(frozen=True)
class PostTranscript:
    """The ticket's transcript as it stands, posted as files in its staff thread."""

    number: int | None = None


@dataclass(frozen=True)
class ShowTranscript:
    """The ticket's transcript as it stands, as text, for the terminal."""

    number: int
    format: str = "text"  # text | html | json


@dataclass(frozen=True)
class ListBlocked:
    """Who is blocked, by whom and until when."""


@dataclass(frozen=True)
class ListFollowUps:
    """The caller's follow-ups and every follow-up due today."""


@dataclass(frozen=True)
class ShowDigest:
    """The leads' daily digest, now (leads only)."""


@dataclass(frozen=True)
class SendCheckIn:
    """A due follow-up's "Send check-in" button."""

    reminder_id: int


@dataclass(frozen=True)
class SnoozeFollowUp:
    reminder_id: int
    delay: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class CompleteFollowUp:
    reminder_id: int


@dataclass(frozen=True)
class SearchArticles:
    """`/ticket kb <question>`: the knowledge base's best articles, for an agent."""

    query: str
    number: int | None = None  # a ticket: search in its customer's language


@dataclass(frozen=True)
class SendArticle:
    """A knowledge-base article to the ticket's customer, in their language."""

    article: str
    number: int | None = None


@dataclass(frozen=True)
class ShowSimilar:
    """Earlier closed tickets most like this one."""

    number: int | None = None


StaffCommand = (
    ClaimTicket
    | AssignTicket
    | EscalateTicket
    | CloseTicket
    | ReopenTicket
    | AddNote
    | SetPriority
    | ScheduleFollowUp
    | ListTickets
    | ShowTicket
    | Help
    | BlockCustomer
    | UnblockCustomer
    | ListBlocked
    | PostTranscript
    | ShowTranscript
    | TagTicket
    | UntagTicket
    | AddSnippet
    | RemoveSnippet
    | ListSnippets
    | SendSnippet
    | ReplyAsTeam
    | SetDuty
    | ShowDuty
    | ListFollowUps
    | ShowDigest
    | SearchArticles
    | SendArticle
    | ShowSimilar
)
FollowUpCommand = SendCheckIn | SnoozeFollowUp | CompleteFollowUp


@dataclass(frozen=True)
class RateTicket:
    """The customer answered the satisfaction question: 1-5, or None for "I still need help"."""

    number: int
    score: int | None


@dataclass(frozen=True)
class AnswerCheckIn:
    """The customer answered the after-care check-in: all good, or still having trouble."""

    number: int
    all_good: bool


@dataclass(frozen=True)
class SendTranscript:
    """The customer asked for their copy of the ticket's transcript (where the desk allows)."""

    number: int


@dataclass(frozen=True)
class SolvedBySuggestion:
    """The customer pressed "This solved it" under an article their ticket was offered."""

    number: int


@dataclass(frozen=True)
class StillNeedHelp:
    """The customer pressed "I still need help" under an article their ticket was offered."""

    number: int


Command = (
    StaffCommand
    | FollowUpCommand
    | RelayAgentMessage
    | RelayCustomerMessage
    | OpenTicket
    | RateTicket
    | AnswerCheckIn
    | SendTranscript
    | SolvedBySuggestion
    | StillNeedHelp
)
