"""A customer's word after a close that is not a new problem: a short thanks within the
grace period, or the answer to "what could we have done better?" after a low rating. Both
join the closed ticket's thread; neither reopens it nor opens another."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from bot import events as ev
from bot.desk.context import CommandContext
from bot.kinds import EventKind, MessageKind
from bot.model import Attachment, Direction, Person, Ticket, TicketEvent, TicketMessage

# a thanks is made only of these words (English) or these phrases (Japanese), with at least
# one that thanks; "thanks, but it still fails" has other words and is a new message
_THANKING = {"thanks", "thank", "thx", "ty", "tysm", "cheers", "appreciate", "appreciated"}
_ALONGSIDE = {
    "you", "so", "much", "a", "lot", "again", "very", "great", "perfect", "ok", "okay",
    "awesome", "it", "that", "this", "works", "worked", "now", "all", "good", "got", "for",
    "the", "help", "your", "quick", "fast", "many", "guys", "team", "really", "super",
    "excellent", "wonderful", "fine", "solved", "fixed", "brilliant", "cool", "nice",
    "its", "thats", "youre", "working", "sorted", "resolved", "helps", "helped", "ton",
    "u", "mate", "is",
}  # fmt: skip
_JA_THANKING = ("ありがとうございました", "ありがとうございます", "ありがとう", "ありがと",
                "有難うございました", "有難うございます", "感謝いたします", "感謝します",
                "助かりました", "助かった", "お世話になりました")  # fmt: skip
_JA_ALONGSIDE = ("本当に", "ほんとうに", "どうも", "大変", "たいへん", "とても", "早速の", "早速",
                 "迅速な", "ご対応", "ご丁寧に", "解決しました", "直りました", "了解しました",
                 "承知しました", "わかりました", "です", "またよろしくお願いいたします",
                 "またよろしくお願いします", "よろしくお願いいたします",
                 "よろしくお願いします")  # fmt: skip
_MOST_WORDS = 12
LOW_RATING = 2  # at or below it, the customer is asked what we could have done better
FEEDBACK_WINDOW = timedelta(hours=24)  # later, a message is a new matter, not the answer


def is_thanks(text: str) -> bool:
    """A short thanks in English or Japanese, and nothing else."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch for ch in folded if ch.isalnum() or ch.isspace() or ch == "'")
    words = kept.replace("'", "").split()
    if not words:  # 👍, 🙏: a nod, not a new matter
        return any(unicodedata.category(ch) == "So" for ch in folded)
    if all(w.isascii() for w in words):
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
    """Whether this message belongs to the ticket just closed (and was added to it). In the
    ticket's own help thread only a thanks is kept apart: anything else there goes on as a
    message on the ticket, reopening it, so a "still broken" is never filed as feedback."""
    assert ticket.id is not None
    if ticket.closed_at is None:  # not closed: not this
        return False
    feedback = ticket.source.is_dm and await _awaiting_feedback(ctx, ticket)
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
    last = await answer_since(ctx, ticket, EventKind.CLOSED, (EventKind.RATED, EventKind.FEEDBACK))
    if last is None or ctx.now - last.at > FEEDBACK_WINDOW:
        return False
    payload = last.payload
    return isinstance(payload, ev.Rated) and payload.score <= LOW_RATING


async def answer_since(
    ctx: CommandContext, ticket: Ticket, asked: EventKind, answers: tuple[EventKind, ...]
) -> TicketEvent | None:
    """The customer's latest answer to the latest question of this kind (a close's rating,
    a check-in's answer), or None when this question has no answer yet. Events read back
    oldest first."""
    assert ticket.id is not None
    found = None
    for event in await ctx.uow.events.for_ticket(ticket.id):
        if event.kind is asked:
            found = None
        elif event.kind in answers:
            found = event
    return found
