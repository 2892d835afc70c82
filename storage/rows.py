"""Mapping between table rows and domain objects (kept apart from the queries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from bot.kinds import MessageKind
from bot.model import (
    Action,
    Attachment,
    Audience,
    OutboundMessage,
    Person,
    Priority,
    SimilarTicket,
    Source,
    Status,
    Ticket,
)


def person_from(ref: str | None, name: str | None) -> Person | None:
    if not ref:
        return None
    platform, _, user_id = ref.partition(":")
    return Person(platform, user_id, name or user_id)


def ticket_values(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "subject": t.subject,
        "customer_id": t.customer_id,
        "customer_name": t.customer_name,
        "locale": t.locale,
        "source_platform": t.source.platform,
        "source_workspace": t.source.workspace,
        "source_channel": t.source.channel,
        "source_thread": t.source.thread,
        "source_is_dm": t.source.is_dm,
        "priority": t.priority.value,
        "status": t.status.value,
        "assignee_ref": t.assignee.ref if t.assignee else None,
        "assignee_name": t.assignee.name if t.assignee else None,
        "team": t.team,
        "escalation_level": t.escalation_level,
        "first_response_at": t.first_response_at,
        "closed_at": t.closed_at,
        "resolution": t.resolution,
        "created_at": t.created_at,
        "updated_at": t.updated_at or t.created_at,
        "staff_channel": t.staff_channel,
        "staff_thread": t.staff_thread,
        "card_message_id": t.card_message_id,
        "sla_breached_at": t.sla_breached_at,
        "tags": tags_column(t.tags),
        "category": t.category,
        "answers": [list(qa) for qa in t.answers],
        "earlier_tickets": t.earlier_tickets,
        "similar": [
            [s.number, s.subject, s.resolution, s.staff_channel, s.staff_thread] for s in t.similar
        ],
    }


def tags_column(tags: tuple[str, ...]) -> str:
    """Tags as one text column, each between spaces, so that `LIKE '% billing %'` finds one
    on SQLite and PostgreSQL alike (tags hold no spaces)."""
    return f" {' '.join(tags)} " if tags else ""


def ticket_from(row: Row[Any]) -> Ticket:
    m = row._mapping
    return Ticket(
        id=m["id"],
        number=m["number"],
        subject=m["subject"],
        customer_id=m["customer_id"],
        customer_name=m["customer_name"],
        locale=m["locale"],
        source=Source(
            m["source_platform"],
            m["source_workspace"],
            m["source_channel"],
            m["source_thread"],
            bool(m["source_is_dm"]),
        ),
        created_at=m["created_at"],
        priority=Priority(m["priority"]),
        status=Status(m["status"]),
        assignee=person_from(m["assignee_ref"], m["assignee_name"]),
        team=m["team"],
        escalation_level=m["escalation_level"],
        first_response_at=m["first_response_at"],
        closed_at=m["closed_at"],
        resolution=m["resolution"],
        updated_at=m["updated_at"],
        staff_channel=m["staff_channel"],
        staff_thread=m["staff_thread"],
        card_message_id=m["card_message_id"],
        version=m["version"],
        sla_breached_at=m["sla_breached_at"],
        tags=tuple(m["tags"].split()),
        category=m["category"],
        answers=tuple((str(q), str(a)) for q, a in m["answers"]),
        earlier_tickets=m["earlier_tickets"],
        similar=tuple(
            SimilarTicket(int(n), str(subject), str(resolution), str(channel), str(thread))
            for n, subject, resolution, channel, thread in m["similar"]
        ),
    )


def outbound_values(msg: OutboundMessage) -> dict[str, Any]:
    return {
        "conversation": msg.conversation,
        "platform": msg.platform,
        "audience": msg.audience.value,
        "kind": str(msg.kind),
        "ticket_id": msg.ticket_id,
        "ticket_number": msg.ticket_number,
        "body": msg.body,
        "author_name": msg.author_name,
        "channel": msg.channel,
        "thread": msg.thread,
        "actions": [{"id": a.id, "label": a.label, "style": a.style} for a in msg.actions],
        "mentions": list(msg.mentions),
        "data": msg.data,
    }


def outbound_from(row: Row[Any]) -> OutboundMessage:
    m = row._mapping
    return OutboundMessage(
        platform=m["platform"],
        audience=Audience(m["audience"]),
        kind=MessageKind(m["kind"]),
        body=m["body"],
        ticket_id=m["ticket_id"],
        ticket_number=m["ticket_number"],
        author_name=m["author_name"],
        channel=m["channel"],
        thread=m["thread"],
        actions=[Action(**a) for a in m["actions"]],
        mentions=list(m["mentions"]),
        data=dict(m["data"]),
        id=m["id"],
        attempts=m["attempts"],
        in_doubt=m["attempt_started_at"] is not None,
        warned=m["warned_at"] is not None,
        created_at=m["created_at"],
    )


def attachments_json(attachments: list[Attachment]) -> list[dict[str, str]]:
    return [{"name": a.name, "url": a.url} for a in attachments]
