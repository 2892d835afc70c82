"""What a line of the audit trail carries: one dataclass per kind that has fields.

A ticket event is stored as its kind and a JSON object of these fields, so that a field
misspelt when writing or reading is a type error, not a silently wrong digest. Kinds with
nothing to add (claimed, note, ...) are recorded by their `EventKind` alone."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from bot.kinds import EventKind

_STORED_AS = {"message_kind": "kind"}  # a field whose stored name differs


@dataclasses.dataclass(frozen=True)
class Payload:
    kind: ClassVar[EventKind]

    def data(self) -> dict[str, Any]:
        """As stored: a JSON object of the fields."""
        return {_STORED_AS.get(k, k): v for k, v in dataclasses.asdict(self).items()}


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
    message_kind: str  # stored as "kind", as it always was
    reason: str


PAYLOADS: dict[EventKind, type[Payload]] = {cls.kind: cls for cls in Payload.__subclasses__()}
_EMPTY: dict[str, Any] = {"str": "", "int": 0, "bool": False, "int | None": None}


def payload_of(kind: EventKind, data: dict[str, Any]) -> Payload | None:
    """The typed payload of a stored event; None for kinds that carry nothing. A field an
    older row lacks reads as empty (0, "", False) rather than failing the whole read."""
    cls = PAYLOADS.get(kind)
    if cls is None:
        return None
    values = {
        f.name: data.get(_STORED_AS.get(f.name, f.name), _EMPTY[str(f.type)])
        for f in dataclasses.fields(cls)
    }
    return cls(**values)
