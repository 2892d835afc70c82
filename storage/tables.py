"""The schema. Migrations under storage/migrations must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC; always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TICKET_NUMBERS = "ticket_numbers"  # PostgreSQL's sequence of ticket numbers (migration 0009)

counters = Table(
    "counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("timezone", String(64), nullable=False, server_default=""),
)

customer_identities = Table(
    "customer_identities",
    metadata,
    Column("platform", String(20), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", Integer, nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("source_platform", String(20), nullable=False),
    Column("source_workspace", String(64), nullable=False),
    Column("source_channel", String(64), nullable=False),
    Column("source_thread", String(64), nullable=False),
    Column("source_is_dm", Boolean, nullable=False),
    Column("priority", String(10), nullable=False),
    Column("status", String(12), nullable=False),
    Column("assignee_ref", String(100)),
    Column("assignee_name", String(200)),
    Column("team", String(40), nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("first_response_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Column("resolution", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("staff_channel", String(64), nullable=False),
    Column("staff_thread", String(64), nullable=False),
    Column("card_message_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sla_breached_at", UTCDateTime()),  # the first-response target passed unanswered
    Column("tags", String(600), nullable=False, server_default=""),  # " billing vip " (rows.py)
    Column("category", String(40), nullable=False, server_default="general"),
    Column("answers", JSON, nullable=False, server_default="[]"),  # [[question, answer], ...]
    # the customer's tickets before this one, and closed tickets like it, when it opened
    Column("earlier_tickets", Integer, nullable=False, server_default="0"),
    Column("similar", JSON, nullable=False, server_default="[]"),  # [[number, subject, ...]]
    Index(None, "status", "priority"),
    Index(None, "customer_id", "status"),
    Index(None, "source_platform", "source_channel", "source_thread"),
    Index(None, "assignee_ref", "status"),
    Index(None, "staff_thread"),
    # the digest's windows ("in the last 24 hours")
    Index(None, "created_at"),
    Index(None, "closed_at"),
    Index(None, "first_response_at"),
    Index(None, "sla_breached_at"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("actor_ref", String(100), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("data", JSON, nullable=False),
    Index(None, "kind", "at"),
)

ticket_messages = Table(
    "ticket_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("direction", String(10), nullable=False),
    Column("author_ref", String(100), nullable=False),
    Column("author_name", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("anonymous", Boolean, nullable=False, server_default=false()),  # in the team's voice
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation", String(100), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("audience", String(10), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id")),
    Column("ticket_number", Integer),
    Column("body", Text, nullable=False),
    Column("author_name", String(200), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("thread", String(64), nullable=False),
    Column("actions", JSON, nullable=False),
    Column("mentions", JSON, nullable=False),
    Column("data", JSON, nullable=False),
    Column("status", String(10), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("platform_message_id", String(100), nullable=False),
    Column("last_error", Text, nullable=False),
    # set while a send is under way: after a crash the message is in doubt (it may have
    # reached the platform) and is looked for there before it is sent again
    Column("attempt_started_at", UTCDateTime()),
    Column("warned_at", UTCDateTime()),  # staff were told the message is waiting
    # the worker delivering it, until when: a dead worker's rows are taken over after that
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime()),
    Index(None, "status", "next_attempt_at"),
    Index(None, "conversation", "status", "id"),
)

# the last message seen per platform channel, so messages sent while the bot was away are
# fetched from the channel's history when it is back (Discord never redelivers)
channel_cursors = Table(
    "channel_cursors",
    metadata,
    Column("platform", String(20), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("last_message_id", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("error", Text, nullable=False),  # set when handling failed; kept for a replay
    UniqueConstraint("platform", "event_id"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), index=True),  # none for desk-wide work
    Column("kind", String(30), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    # pending | fired (waiting for an agent) | done | cancelled | failed
    Column("status", String(12), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_by_ref", String(100), nullable=False),
    Column("created_by_name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("key", String(60), unique=True),  # one row per key, for desk-wide work (the digest)
    Column("last_error", Text, nullable=False, server_default=""),
    Index(None, "status", "due_at"),
)

# the next turn of each platform route that several processes share (PostgreSQL only;
# see storage.rates): a route's row says when its bucket is full again
rate_turns = Table(
    "rate_turns",
    metadata,
    Column("route", String(200), primary_key=True),
    Column("full_at", UTCDateTime(), nullable=False),
)

# customers whose messages open no ticket; a row stays after the block is lifted or has run
# out, as the record of who blocked whom and why
customer_blocks = Table(
    "customer_blocks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("by_ref", String(100), nullable=False),
    Column("by_name", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("blocked_at", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime()),  # none: until someone lifts it
    Column("noticed_at", UTCDateTime()),  # the customer was told, once per block
    Column("lifted_at", UTCDateTime()),
    Column("lifted_by_name", String(200), nullable=False),
)

# a ticket's transcript as it stood at each close: the record an agent or the customer got
transcripts = Table(
    "transcripts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("made_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
)

# saved replies added from chat, one row per name and language (the configuration file's
# live in the settings; a row here of the same name and language wins)
snippets = Table(
    "snippets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("locale", String(16), primary_key=True),
    Column("text", Text, nullable=False),
    Column("by_name", String(200), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# each `supportbot erase`: when, by whom, which customer (by the internal id only: the
# platform id and the name are what was erased) and how much of theirs it took
erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("by", String(200), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
)

# agents' shifts: who takes new tickets by round-robin, for which teams, and since when
agent_duty = Table(
    "agent_duty",
    metadata,
    Column("agent_ref", String(100), primary_key=True),
    Column("agent_name", String(200), nullable=False),
    Column("teams", String(600), nullable=False),  # " billing tier2 ", as tickets.tags
    Column("on_duty", Boolean, nullable=False),
    Column("since", UTCDateTime()),
    Column("last_assigned_at", UTCDateTime()),
)
