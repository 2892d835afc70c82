"""A customer's word after a close that is not a new problem: a short thanks within the
grace period, or the answer to "what could we have done better?" after a low rating. Both
join the closed ticket's thread; neither reopens it nor opens another."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from bot import events as ev
from bot.desk.context import CommandContext
from bot.kinds import EventKind, MessageKind
from bot.model import Attachment, Direction, Person, Ticket, TicketMessage

# a thanks is made only of these words (English) or these phrases (Japanese), with at least
# one that thanks; "thanks, but it still fails" has other words and is a new message
_THANKING = {"thanks", "thank", "thx", "ty", "cheers", "appreciate", "appreciated"}
_ALONGSIDE = {
    "you", "so", "much", "a", "lot", "again", "very", "great", "perfect", "ok", "okay",
    "awesome", "it", "that", "this", "works", "worked", "now", "all", "good", "got", "for",
    "the", "help", "your", "quick", "fast", "many", "guys", "team", "really", "super",
    "excellent", "wonderful", "fine", "solved", "fixed", "brilliant", "cool", "nice",
}  # fmt: skip
_JA_THANKING = ("ありがとうございました", "ありがとうございます", "ありがとう", "感謝いたします",
                "感謝します", "助かりました", "お世話になりました")  # fmt: skip
_JA_ALONGSIDE = ("本当に", "ほんとうに", "どうも", "大変", "たいへん", "とても", "早速",
                 "迅速な", "ご対応", "ご丁寧に", "解決しました", "直りました", "了解しました",
                 "承知しました", "わかりました", "です", "。", "、")  # fmt: skip
_MOST_WORDS = 12
LOW_RATING = 2  # at or below it, the customer is asked what we could have done better
FEEDBACK_WINDOW = timedelta(days=3)  # later, a message is a new matter, not the answer


def is_thanks(text: str) -> bool:
    """A short thanks in English or Japanese, and nothing else."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch for ch in folded if ch.isalnum() or ch.isspace() or ch == "'")
    words = kept.replace("'", "").split()
    if words and all(w.isascii() for w in words):
        return (
            len(words) <= _MOST_WORDS
            and any(w in _THANKING for w in words)
            and all(w in _THANKING | _ALONGSIDE for w in words)
        )
    rest = "".join(words)
    if not any(p in rest for p in _JA_THANKING):
        return False
    for phrase in sorted(_JA_THANKING + _JA_ALONGSIDE, key=len, reverse=True):
        rest = rest.replace(phrase, "")
    return rest == ""


async def heard_after_close(
    ctx: CommandContext,
    ticket: Ticket,
    person: Person,
    text: str,
    attachments: tuple[Attachment, ...],
) -> bool:
    """Whether this message belongs to the ticket just closed (and was added to it)."""
    assert ticket.id is not None
    if ticket.closed_at is None:  # not closed: not this
        return False
    feedback = await _awaiting_feedback(ctx, ticket)
    grace = ctx.settings.thanks_grace
    thanks = not attachments and ctx.now - ticket.closed_at < grace and is_thanks(text)
    if not (feedback or thanks):
        return False
    await ctx.uow.messages.add(
        TicketMessage(ticket.id, Direction.INBOUND, person, text, ctx.now, list(attachments))
    )
    key = "notice_feedback" if feedback else "notice_thanks_after_close"
    await ctx.notice(ticket, key, text=text)
    if feedback:
        await ctx.record(ticket, EventKind.FEEDBACK, person)
        await ctx.to_customer(
            ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, "thanks_feedback")
        )
    return True


async def _awaiting_feedback(ctx: CommandContext, ticket: Ticket) -> bool:
    """The last word of this close is a low rating, its question not yet answered."""
    assert ticket.id is not None
    last = None
    for event in await ctx.uow.events.for_ticket(ticket.id):
        if event.kind in (EventKind.CLOSED, EventKind.RATED, EventKind.FEEDBACK):
            last = event
    if last is None or ctx.now - last.at > FEEDBACK_WINDOW:
        return False
    payload = last.payload
    return isinstance(payload, ev.Rated) and payload.score <= LOW_RATING
