"""What a line of the audit trail carries: one dataclass per kind that has fields.

A ticket event is stored as its kind and a JSON object of these fields. Writing and reading
through these classes makes a misspelt field or a missing one a type error, not a silently
wrong digest. Kinds with nothing to add (`BareKind`: claimed, note, ...) are recorded by
their `EventKind` alone."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar, Literal

from bot.kinds import EventKind

BareKind = Literal[
    EventKind.CLAIMED,
    EventKind.NOTE,
    EventKind.REPLY_NOT_SENT,
    EventKind.FOLLOWUP_DONE,
    EventKind.CHECKIN_ALL_GOOD,
    EventKind.CHECKIN_TROUBLE,
    EventKind.IDLE_NUDGE,
    EventKind.FEEDBACK,
    EventKind.TRANSCRIPT_SENT,
    EventKind.KB_SOLVED,
    EventKind.KB_NEED_HELP,
    EventKind.KB_MISSED,
]


@dataclasses.dataclass(frozen=True)
class Payload:
    kind: ClassVar[EventKind]

    def data(self) -> dict[str, Any]:
        """As stored: a JSON object of the fields."""
        return {c.stored: getattr(self, c.name) for c in _COLUMNS[type(self)]}


@dataclasses.dataclass(frozen=True)
class Opened(Payload):
    kind = EventKind.OPENED
    priority: str
    keyword: str  # the triage keyword that raised the priority, if any


@dataclasses.dataclass(frozen=True)
class Reopened(Payload):
    kind = EventKind.REOPENED
    reason: str


@dataclasses.dataclass(frozen=True)
class StatusChanged(Payload):
    kind = EventKind.STATUS
    before: str
    after: str


@dataclasses.dataclass(frozen=True)
class Assigned(Payload):
    kind = EventKind.ASSIGNED
    agent: str
    agent_ref: str


@dataclasses.dataclass(frozen=True)
class Escalated(Payload):
    kind = EventKind.ESCALATED
    team: str
    reason: str
    level: int
    previous_assignee: str


@dataclasses.dataclass(frozen=True)
class PriorityChanged(Payload):
    kind = EventKind.PRIORITY
    before: str
    after: str


@dataclasses.dataclass(frozen=True)
class FirstResponse(Payload):
    kind = EventKind.FIRST_RESPONSE
    seconds: int  # from opening to the first agent reply


@dataclasses.dataclass(frozen=True)
class Closed(Payload):
    kind = EventKind.CLOSED
    resolution: str
    resolution_seconds: int  # from opening to this close
    # the customer's own close ("This solved it" under an offered article): not an agent's
    self_served: bool = False

    def data(self) -> dict[str, Any]:
        # an agent's close is stored as it always was
        stored = super().data()
        return (
            stored if self.self_served else {k: v for k, v in stored.items() if k != "self_served"}
        )


@dataclasses.dataclass(frozen=True)
class Rated(Payload):
    kind = EventKind.RATED
    score: int


@dataclasses.dataclass(frozen=True)
class FollowUpScheduled(Payload):
    kind = EventKind.FOLLOWUP_SCHEDULED
    due_at: str  # ISO 8601
    note: str


@dataclasses.dataclass(frozen=True)
class FollowUpDue(Payload):
    kind = EventKind.FOLLOWUP_DUE
    note: str


@dataclasses.dataclass(frozen=True)
class FollowUpSnoozed(Payload):
    kind = EventKind.FOLLOWUP_SNOOZED
    due_at: str  # ISO 8601


@dataclasses.dataclass(frozen=True)
class CheckInSent(Payload):
    kind = EventKind.CHECKIN_SENT
    automatic: bool  # by the follow-up policy rather than an agent's button

    def data(self) -> dict[str, Any]:
        # an agent's check-in has always been stored with nothing more to say
        return super().data() if self.automatic else {}


@dataclasses.dataclass(frozen=True)
class ResponseTargetNudged(Payload):
    kind = EventKind.SLA_NUDGE
    due_at: str  # ISO 8601


@dataclasses.dataclass(frozen=True)
class ResponseTargetBreached(Payload):
    kind = EventKind.SLA_BREACHED
    target: str  # as the staff read it, e.g. "1h"


@dataclasses.dataclass(frozen=True)
class DeliveryFailed(Payload):
    kind = EventKind.DELIVERY_FAILED
    outbox_id: int | None
    message_kind: str = dataclasses.field(metadata={"stored_as": "kind"})  # as it always was
    reason: str
    # when the message was written: the ticket's message of that moment was never delivered
    written_at: str = ""


@dataclasses.dataclass(frozen=True)
class Tagged(Payload):
    kind = EventKind.TAGGED
    tags: str  # the tags added, space-separated


@dataclasses.dataclass(frozen=True)
class Untagged(Payload):
    kind = EventKind.UNTAGGED
    tags: str


PAYLOADS: dict[EventKind, type[Payload]] = {cls.kind: cls for cls in Payload.__subclasses__()}


@dataclasses.dataclass(frozen=True)
class _Column:
    name: str
    stored: str  # its key in the stored JSON object
    empty: Any  # what a row written without it reads as


_EMPTY_OF_TYPE: dict[Any, Any] = {str: "", int: 0, bool: False}


def _columns(cls: type[Payload]) -> tuple[_Column, ...]:
    # resolved once, at import: a field of a type with no empty value fails here, not on a read
    hints = typing.get_type_hints(cls)
    return tuple(
        _Column(
            f.name,
            f.metadata.get("stored_as", f.name),
            None if type(None) in typing.get_args(hints[f.name]) else _EMPTY_OF_TYPE[hints[f.name]],
        )
        for f in dataclasses.fields(cls)
    )


_COLUMNS = {cls: _columns(cls) for cls in PAYLOADS.values()}


def payload_of(kind: EventKind, data: dict[str, Any]) -> Payload | None:
    """The typed payload of a stored event; None for a bare kind (or one this version does
    not know). A field an older row lacks reads as empty (0, "", False, None) rather than
    failing the whole read."""
    cls = PAYLOADS.get(kind)
    if cls is None:
        return None
    return cls(**{c.name: data.get(c.stored, c.empty) for c in _COLUMNS[cls]})
