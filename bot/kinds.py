"""The desk's two vocabularies: what a ticket's audit trail says happened (`EventKind`) and
what an outbox message is (`MessageKind`, which decides how a platform shows it).

Both are stored as their string values. A value this version does not know (written by a
newer version during a rolling deploy, say) reads back as a kind of its own that equals no
known member, rather than failing every read of the row."""

from __future__ import annotations

import enum
from typing import Any, Self


class _Open(enum.StrEnum):
    @classmethod
    def _missing_(cls, value: Any) -> Self | None:
        if not isinstance(value, str):
            return None
        unknown = str.__new__(cls, value)
        unknown._name_ = f"UNKNOWN_{value.upper()}"
        unknown._value_ = value
        return unknown


class EventKind(_Open):
    """A line of a ticket's audit trail; a kind that carries fields has its payload class in
    bot.events."""

    OPENED = "opened"
    REOPENED = "reopened"
    STATUS = "status"
    CLAIMED = "claimed"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    PRIORITY = "priority"
    NOTE = "note"
    FIRST_RESPONSE = "first_response"
    REPLY_NOT_SENT = "reply_not_sent"  # an agent wrote to a closed ticket
    CLOSED = "closed"
    RATED = "rated"
    FOLLOWUP_SCHEDULED = "followup_scheduled"
    FOLLOWUP_DUE = "followup_due"
    FOLLOWUP_SNOOZED = "followup_snoozed"
    FOLLOWUP_DONE = "followup_done"
    CHECKIN_SENT = "checkin_sent"
    CHECKIN_ALL_GOOD = "checkin_all_good"
    CHECKIN_TROUBLE = "checkin_trouble"
    IDLE_NUDGE = "idle_nudge"
    SLA_NUDGE = "sla_nudge"
    SLA_BREACHED = "sla_breached"
    DELIVERY_FAILED = "delivery_failed"
    FEEDBACK = "feedback"  # what the customer says we could have done better
    TAGGED = "tagged"
    UNTAGGED = "untagged"
    TRANSCRIPT_SENT = "transcript_sent"  # the customer asked for their copy and got it
    # the customer's answers to the articles offered with a new ticket's acknowledgement,
    # kept so that a second press of the same button changes nothing and says nothing again
    KB_SOLVED = "kb_solved"  # "This solved it", after an agent had answered (no close)
    KB_NEED_HELP = "kb_need_help"  # "I still need help"
    KB_MISSED = "kb_missed"  # the desk searched its articles for a new ticket: none fitted


class MessageKind(_Open):
    """An outbox message."""

    # to the customer
    ACK = "ack"  # a new ticket is open
    AGENT_REPLY = "agent_reply"
    REOPENED = "reopened"
    FAREWELL = "farewell"  # the ticket is closed
    CSAT = "csat"  # how did we do? (rating buttons)
    CHECKIN = "checkin"  # after-care: is all well? (buttons)
    THANKS = "thanks"
    IDLE_NUDGE = "idle_nudge"
    BLOCKED = "blocked"  # once per block: their messages reach no one
    # a ticket's transcript as files (model.files_of), to the staff thread or the customer
    TRANSCRIPT = "transcript"
    # to staff, in the ticket's thread
    CARD = "card"
    CARD_UPDATE = "card_update"  # the card edited in place
    CUSTOMER_MESSAGE = "customer_message"
    NOTE = "note"  # internal: marked on the agent's own message where the platform can
    DELIVERED = "delivered"  # a mark on the agent's message: the customer has it
    NOTICE = "notice"
    FOLLOWUP_DUE = "followup_due"
    DELIVERY_WAITING = "delivery_waiting"
    DELIVERY_FAILED = "delivery_failed"
    # to the leads
    DIGEST = "digest"
    SLA_BREACH = "sla_breach"
