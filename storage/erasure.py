"""Erasing a customer (`supportbot erase`): their words, name and identities leave the
database; their tickets stay, anonymised, so that every figure (counts, response and
resolution times, ratings) reads as before.

In one transaction, for the customer behind one platform identity:
- the customer is renamed ERASED_NAME (the locale stays) and all their identities, on
  every platform, are deleted: the same person writing again is a new customer;
- their tickets: customer name and subject (their first words) replaced; the source
  channel and thread emptied, so that nothing more reaches the person and a new message
  in the same thread opens a new ticket rather than joining an anonymised one;
- their messages (the inbound ones of their tickets, and any written under their refs):
  body and attachments emptied, author replaced by ERASED_NAME and `erased:<customer id>`;
- events they made, and reminders they set going: actor replaced the same way (the data
  stays: a rating is a figure);
- what staff wrote (replies, notes, resolutions, event data, follow-up notes, block
  reasons) stays, with the customer's name, the parts of it, their user ids and refs
  replaced wherever they stand as words (a staff reply starts "Hi Zelda");
- the outbox rows of their tickets, and of their direct conversations: bodies and data
  emptied, since they quote the customer (relays, cards, greetings, transcripts). Rows
  still pending are given up (`failed`, saying why): they were written to or about a
  person the desk no longer knows, and would now deliver an empty message. Digests and
  alerts to the leads that quote one of their subjects get it replaced;
- inbound events they sent: the payload is replaced by {"erased": true}; the row stays, so
  that a platform's late retry of the same event is still recognised as handled instead of
  bringing the words back. Other events naming them (a staff command quoting their id,
  say) have the name and ids replaced;
- the transcripts of their tickets (copies of the conversation) are deleted, and so are
  the history cursors of their direct conversations;
- follow-ups, check-ins and idle nudges of their tickets are cancelled (they would write
  to the customer); response-target checks stay, as they only tell staff;
- a row in `erasures` records when, by whom, the internal customer id and how much.

Finding what names them in the outbox and the inbound events reads those tables whole: an
erasure is rare, and on SQLite holds the write lock that long (about a second a million
rows). What the platforms already show (the staff threads) is theirs to delete.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, and_, bindparam, cast, delete, false, func, or_, select, update

from storage import tables as t
from storage.engine import Conn, Database
from storage.sqlite import scan

ERASED_NAME = "erased customer"
ERASED_SUBJECT = "(erased)"
GIVEN_UP = "not sent: the customer's data was erased"
CANCELLED = "cancelled: the customer's data was erased"
CUSTOMER_FACING = ("followup", "idle_nudge", "idle_close")  # reminders that write to them
CHUNK = 100  # texts looked for per statement

_tk, _msg, _ev, _ob = t.tickets.c, t.ticket_messages.c, t.ticket_events.c, t.outbox.c
_ids, _rem, _in = t.customer_identities.c, t.reminders.c, t.inbound_events.c


@dataclass(frozen=True)
class Scope:
    """A customer, and what erasing them takes."""

    customer_id: int
    name: str
    identities: tuple[tuple[str, str], ...]  # (platform, user id)
    tickets: tuple[Any, ...]  # rows: subject, source_platform, source_channel, source_is_dm
    messages: int  # their own, to be emptied

    @property
    def refs(self) -> list[str]:
        return [f"{platform}:{user_id}" for platform, user_id in self.identities]

    @property
    def erased_ref(self) -> str:
        return f"erased:{self.customer_id}"


class Words:
    """Replaces a customer's name (and each part of it), user ids and refs where they stand
    as words, whatever their case."""

    def __init__(self, scope: Scope) -> None:
        ids = [*scope.refs, *(user_id for _, user_id in scope.identities)]
        self._as = {term.casefold(): scope.erased_ref for term in ids}
        # the name wins where a user id is the name too (the shell's are): "Hi Alice"
        self._as |= {term.casefold(): ERASED_NAME for term in (scope.name, *scope.name.split())}
        # a name written without its space ("山田太郎") is the name too
        self._as[scope.name.replace(" ", "").casefold()] = ERASED_NAME
        # longest first (a ref before the user id in it). Latin terms count as whole words
        # of three letters or more ("Al" is in too many words); Japanese has no spaces
        # between words, so its terms (山田, 太郎) count wherever they stand
        terms = sorted(
            (t for t in self._as if len(t) > 2 or not t.isascii()), key=len, reverse=True
        )
        self.terms = terms
        latin = "|".join(re.escape(t) for t in terms if t.isascii()) or r"(?!)"
        other = "|".join(re.escape(t) for t in terms if not t.isascii()) or r"(?!)"
        # a Latin term ends where ASCII letters and digits do ("Zelda様" holds "Zelda")
        self._pattern = re.compile(
            rf"(?<![A-Za-z0-9_])(?:{latin})(?![A-Za-z0-9_])|(?:{other})", re.IGNORECASE
        )

    def text(self, value: str) -> str:
        return self._pattern.sub(lambda found: self._as[found.group().casefold()], value)

    def document(self, value: Any) -> Any:
        """A column's value (text, or a JSON document) with every string in it replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.document(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.document(item) for key, item in value.items()}
        return value


def _their_tickets(customer_id: int) -> Any:
    return select(_tk.id).where(_tk.customer_id == customer_id).scalar_subquery()


def _their_messages(customer_id: int, refs: list[str]) -> Any:
    """Every inbound message of their tickets, and any other under their refs."""
    inbound = _msg.direction == "inbound"
    return or_(
        and_(_msg.ticket_id.in_(_their_tickets(customer_id)), inbound), _msg.author_ref.in_(refs)
    )


async def scope_of(conn: Conn, platform: str, user_id: str) -> Scope | None:
    """The customer known as platform:user_id; None when none is (never seen, or erased)."""
    found = (
        await conn.execute(
            select(t.customers.c.id, t.customers.c.display_name)
            .join(t.customer_identities, _ids.customer_id == t.customers.c.id)
            .where(_ids.platform == platform, _ids.user_id == user_id)
        )
    ).first()
    if found is None:
        return None
    customer_id, name = found.id, found.display_name
    identities = await conn.execute(
        select(_ids.platform, _ids.user_id).where(_ids.customer_id == customer_id)
    )
    pairs = tuple((row.platform, row.user_id) for row in identities)
    tickets = await conn.execute(
        select(_tk.subject, _tk.source_platform, _tk.source_channel, _tk.source_is_dm)
        .where(_tk.customer_id == customer_id)
        .order_by(_tk.id)
    )
    refs = [f"{p}:{u}" for p, u in pairs]
    counted = await conn.execute(select(func.count()).where(_their_messages(customer_id, refs)))
    return Scope(customer_id, name, pairs, tuple(tickets), int(counted.scalar_one()))


async def preview(database: Database, platform: str, user_id: str) -> Scope | None:
    async with database.begin() as conn:
        return await scope_of(conn, platform, user_id)


async def erase(
    database: Database, platform: str, user_id: str, by: str, at: datetime
) -> Scope | None:
    """Erase the customer known as platform:user_id; None (nothing changed) when none is."""
    async with database.begin() as conn:
        scope = await scope_of(conn, platform, user_id)
        if scope is None:
            return None
        words = Words(scope)
        theirs = _their_tickets(scope.customer_id)
        await _outbox(conn, scope, words, at)
        await _inbound(conn, scope, words)
        for table, columns, where in (
            (t.ticket_messages, ("body", "attachments"), _msg.ticket_id.in_(theirs)),
            (t.ticket_events, ("data",), _ev.ticket_id.in_(theirs)),
            (t.tickets, ("resolution",), _tk.customer_id == scope.customer_id),
            (t.reminders, ("note",), _rem.ticket_id.in_(theirs)),
            (t.customer_blocks, ("reason",), t.customer_blocks.c.customer_id == scope.customer_id),
        ):
            await _rewrite(conn, table, columns, where, words.document)
        await conn.execute(
            scan(update(t.ticket_messages).where(_their_messages(scope.customer_id, scope.refs))),
            {
                "body": "",
                "attachments": [],
                "author_ref": scope.erased_ref,
                "author_name": ERASED_NAME,
            },
        )
        await conn.execute(
            scan(update(t.ticket_events).where(_ev.actor_ref.in_(scope.refs))),
            {"actor_ref": scope.erased_ref, "actor_name": ERASED_NAME},
        )
        await conn.execute(
            update(t.tickets)
            .where(_tk.customer_id == scope.customer_id)
            .values(
                customer_name=ERASED_NAME,
                subject=ERASED_SUBJECT,
                source_channel="",
                source_thread="",
                version=_tk.version + 1,  # a save of the ticket as read before this fails
            )
        )
        await conn.execute(
            update(t.reminders)
            .where(_rem.ticket_id.in_(theirs), _rem.kind.in_(CUSTOMER_FACING))
            .where(_rem.status.in_(("pending", "fired")))
            .values(status="cancelled", last_error=CANCELLED)
        )
        await conn.execute(  # what they set going (an after-care answer, say)
            scan(update(t.reminders).where(_rem.created_by_ref.in_(scope.refs))),
            {"created_by_ref": scope.erased_ref, "created_by_name": ERASED_NAME},
        )
        await conn.execute(delete(t.transcripts).where(t.transcripts.c.ticket_id.in_(theirs)))
        cursors = t.channel_cursors.c
        for platform_, channel in _direct(scope):
            await conn.execute(
                delete(t.channel_cursors).where(
                    cursors.platform == platform_, cursors.channel == channel
                )
            )
        await conn.execute(
            delete(t.customer_identities).where(_ids.customer_id == scope.customer_id)
        )
        await conn.execute(
            update(t.customers)
            .where(t.customers.c.id == scope.customer_id)
            .values(display_name=ERASED_NAME, timezone="")
        )
        await conn.execute(
            t.erasures.insert(),
            {
                "at": at,
                "by": by[:200],
                "customer_id": scope.customer_id,
                "tickets": len(scope.tickets),
                "messages": scope.messages,
            },
        )
        return scope


def _direct(scope: Scope) -> set[tuple[str, str]]:
    """(platform, channel) of the customer's direct conversations with the desk."""
    return {(row[1], row[2]) for row in scope.tickets if row[3] and row[2]}


async def _outbox(conn: Conn, scope: Scope, words: Words, at: datetime) -> None:
    direct = [and_(_ob.platform == p, _ob.channel == c) for p, c in _direct(scope)]
    theirs = or_(
        _ob.ticket_id.in_(_their_tickets(scope.customer_id)),
        and_(_ob.ticket_id.is_(None), _ob.audience == "customer", or_(*direct))
        if direct
        else false(),
    )
    # the body, and the data the platform renders (a card's subject, a transcript's files)
    await conn.execute(scan(update(t.outbox).where(theirs).values(body="", data={})))
    await conn.execute(
        scan(
            update(t.outbox).where(theirs, _ob.audience == "customer").values(channel="", thread="")
        )
    )
    await conn.execute(
        scan(update(t.outbox).where(theirs, _ob.status == "pending")).values(
            status="failed", last_error=GIVEN_UP, sent_at=at, attempt_started_at=None,
            lease_owner=None, lease_until=None,
        )
    )  # fmt: skip
    await _rewrite(conn, t.outbox, ("author_name", "actions", "mentions"), theirs, words.document)
    # to the leads (digests, response-target alerts): their subjects, their name
    subjects = sorted(
        {row[0] for row in scope.tickets} - {"", ERASED_SUBJECT}, key=len, reverse=True
    )

    def quoted(body: str) -> str:
        for subject in subjects:
            body = body.replace(subject, ERASED_SUBJECT)
        return words.text(body)

    terms = [*subjects, *words.terms]
    for start in range(0, len(terms), CHUNK):
        found = or_(
            *(_ob.body.icontains(term, autoescape=True) for term in terms[start : start + CHUNK])
        )
        await _rewrite(conn, t.outbox, ("body",), and_(_ob.audience == "leads", found), quoted)


async def _inbound(conn: Conn, scope: Scope, words: Words) -> None:
    """Their own inbound events erased; others that name them, rewritten."""
    if not words.terms:
        return
    payload = cast(_in.payload, Text)
    found = or_(*(payload.icontains(term, autoescape=True) for term in words.terms))
    rows = await conn.execute(select(_in.id, _in.payload, _in.error).where(found))
    changed = []
    for row in rows:
        actor = row.payload.get("actor") if isinstance(row.payload, dict) else None
        own = (
            isinstance(actor, dict)
            and (actor.get("platform"), actor.get("user_id")) in scope.identities
        )
        document = {"erased": True} if own else words.document(row.payload)
        error = ("erased" if row.error else "") if own else words.text(row.error)
        if document != row.payload or error != row.error:
            changed.append({"b_id": row.id, "b_payload": document, "b_error": error})
    if changed:
        await conn.execute(
            update(t.inbound_events)
            .where(_in.id == bindparam("b_id"))
            .values(payload=bindparam("b_payload"), error=bindparam("b_error")),
            changed,
        )


async def _rewrite(
    conn: Conn, table: Table, columns: tuple[str, ...], where: Any, rewrite: Callable[[Any], Any]
) -> None:
    """Each value of `columns` in the rows `where` passed through `rewrite`; the rows it
    changes are written back."""
    rows = await conn.execute(select(table.c.id, *(table.c[c] for c in columns)).where(where))
    changed = []
    for row in rows:
        before: list[Any] = list(row)[1:]
        after = [rewrite(value) for value in before]
        if after != before:
            changed.append(
                {"b_id": row.id} | {f"b_{c}": v for c, v in zip(columns, after, strict=True)}
            )
    if changed:
        statement = update(table).where(table.c.id == bindparam("b_id"))
        await conn.execute(statement.values({c: bindparam(f"b_{c}") for c in columns}), changed)
