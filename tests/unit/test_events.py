"""Audit-trail payloads: what is written is what the digest and the ticket view read back."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime

import pytest

from bot import events as ev
from bot.kinds import EventKind
from bot.model import SYSTEM, TicketEvent

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

SAMPLES: list[ev.Payload] = [
    ev.Opened("urgent", "outage"),
    ev.Reopened("customer wrote again"),
    ev.StatusChanged("open", "waiting"),
    ev.Assigned("Bob", "slack:U1"),
    ev.Escalated("billing", "refund over limit", 2, "Bob"),
    ev.PriorityChanged("normal", "high"),
    ev.FirstResponse(95),
    ev.Closed("fixed the login", 3600),
    ev.Rated(4),
    ev.FollowUpScheduled("2026-12-10T09:00:00+00:00", "check the refund"),
    ev.FollowUpDue("check the refund"),
    ev.FollowUpSnoozed("2026-12-11T09:00:00+00:00"),
    ev.CheckInSent(automatic=True),
    ev.ResponseTargetNudged("2026-12-07T10:00:00+00:00"),
    ev.ResponseTargetBreached("1h"),
    ev.DeliveryFailed(42, "agent_reply", "channel_not_found"),
    ev.Tagged("billing vip"),
    ev.Untagged("vip"),
]


def test_every_payload_kind_has_a_sample_and_its_own_kind() -> None:
    assert {type(p) for p in SAMPLES} == set(ev.PAYLOADS.values())
    assert len(ev.PAYLOADS) == len(ev.Payload.__subclasses__())  # no two share a kind


def test_every_kind_is_either_bare_or_has_a_payload() -> None:
    bare = set(typing.get_args(ev.BareKind))
    assert not bare & set(ev.PAYLOADS)
    assert bare | set(ev.PAYLOADS) == set(EventKind)


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: type(p).__name__)
def test_a_payload_reads_back_as_written(payload: ev.Payload) -> None:
    event = TicketEvent.of(7, payload, SYSTEM, AT)
    assert event.kind is payload.kind
    assert event.payload == payload


@pytest.mark.parametrize("cls", list(ev.PAYLOADS.values()), ids=lambda c: c.__name__)
def test_a_row_missing_fields_reads_as_empty_values_not_an_error(
    cls: type[ev.Payload],
) -> None:
    payload = ev.payload_of(cls.kind, {})
    assert isinstance(payload, cls)
    assert all(not getattr(payload, f.name) for f in dataclasses.fields(cls))


def test_stored_field_names_stay_as_they_were() -> None:
    # rows written before payloads were typed must read the same, and vice versa
    failed = TicketEvent.of(7, ev.DeliveryFailed(42, "agent_reply", "gone"), SYSTEM, AT)
    assert failed.data == {
        "outbox_id": 42,
        "kind": "agent_reply",
        "reason": "gone",
        "written_at": "",  # added later: an older row reads it as ""
    }
    closed = TicketEvent.of(7, ev.Closed("done", 60), SYSTEM, AT)
    assert closed.data == {"resolution": "done", "resolution_seconds": 60}
    by_agent = TicketEvent.of(7, ev.CheckInSent(automatic=False), SYSTEM, AT)
    assert by_agent.data == {}  # as an agent's check-in always was
    assert by_agent.payload == ev.CheckInSent(automatic=False)


def test_a_payload_field_with_no_empty_value_fails_when_it_is_declared() -> None:
    @dataclasses.dataclass(frozen=True)
    class Measured:  # not a Payload subclass, so that no registry ever sees it
        ratio: float

    with pytest.raises(KeyError):
        ev._columns(Measured)  # type: ignore[arg-type]


def test_a_kind_that_carries_fields_cannot_be_recorded_bare() -> None:
    with pytest.raises(TypeError, match="CLOSED events carry fields: record Closed"):
        TicketEvent.of(7, EventKind.CLOSED, SYSTEM, AT)  # type: ignore[arg-type]
    assert TicketEvent.of(7, EventKind.CLAIMED, SYSTEM, AT).payload is None


def test_an_unknown_kind_from_a_newer_version_has_no_payload() -> None:
    assert ev.payload_of(EventKind("merged"), {"into": 3}) is None
