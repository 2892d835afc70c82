"""What Slack shows after a burst against several `supportbot run` processes, and everything
wrong with it.

    log = PostLog(fake, workers={"xoxb-worker-0": "w0", ...})   # who posted what
    problems = audit(log, plan)        # [Problem(kind, detail)], empty when all is well
    print(summary(problems))           # counted by kind, a few examples of each

The audit reads the chat.postMessage calls the fake Slack carried out (`Call.result` set),
in the order it carried them out, which is the order of their ts. Invariants:
- every post names its outbox row (metadata outbox_id + part), and no row part is posted twice;
- the staff channel holds only cards, exactly one per ticket, one ticket per customer;
- each ticket's staff thread holds the customer's messages, each exactly once, in the order
  sent (nothing but relays in it);
- each customer's DM holds exactly one acknowledgement naming the ticket of the card, and
  every agent reply exactly once, in the order written (nothing else);
- every event was acknowledged.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.adapters.fake_slack import FakeSlack
from tests.adapters.fake_slack_store import parse_json
from tests.e2e.crash_driver import ACK_NUMBER, CARD_NUMBER, METADATA_TYPE, STAFF_CHANNEL

if TYPE_CHECKING:
    from tests.e2e.workers_traffic import Inbound, Plan

__all__ = ["Post", "PostLog", "Problem", "audit", "summary"]

_CUSTOMER_TOKEN = re.compile(r"crash c(\d{3}) m(\d)")
_REPLY_TOKEN = re.compile(r"reply c(\d{3}) r(\d)")


@dataclass(frozen=True)
class Post:
    channel: str
    thread: str  # the thread_ts it was posted in, "" at the top level
    ts: str
    text: str
    ref: tuple[int, int] | None  # (outbox_id, part) from its metadata
    worker: str  # which process posted it (by its bot token)

    @property
    def where(self) -> str:
        return f"{self.worker}@{self.ts}"


@dataclass(frozen=True)
class Problem:
    kind: str
    detail: str


class PostLog:
    """The accepted chat.postMessage calls of a fake Slack, read incrementally."""

    def __init__(self, fake: FakeSlack, workers: dict[str, str] | None = None) -> None:
        self.fake = fake
        self.workers = workers or {}
        self.posts: list[Post] = []
        self.cards: dict[int, list[Post]] = defaultdict(list)  # customer index -> cards
        self._read = 0

    def update(self) -> list[Post]:
        calls = self.fake.calls
        new = []
        for call in calls[self._read :]:
            if call.method != "chat.postMessage" or not call.result:
                continue
            args = call.args
            meta = parse_json(args.get("metadata")) or {}
            payload = meta.get("event_payload") or {} if isinstance(meta, dict) else {}
            ref = None
            if isinstance(meta, dict) and meta.get("event_type") == METADATA_TYPE:
                ref = (int(payload["outbox_id"]), int(payload.get("part", 0)))
            post = Post(
                str(call.result.get("channel") or args["channel"]),
                str(args.get("thread_ts") or ""),
                str(call.result["ts"]),
                str(args.get("text") or ""),
                ref,
                self.workers.get(call.token, call.token),
            )
            new.append(post)
            if post.channel == STAFF_CHANNEL and not post.thread and CARD_NUMBER.match(post.text):
                first = _CUSTOMER_TOKEN.search(post.text)
                if first and first.group(2) == "1":
                    self.cards[int(first.group(1))].append(post)
        self._read = len(calls)
        self.posts.extend(new)
        return new

    def card_ts(self, customer_index: int) -> str:
        self.update()
        cards = self.cards.get(customer_index)
        return cards[0].ts if cards else ""

    def in_thread(self, ts: str) -> list[Post]:
        return [p for p in self.posts if p.channel == STAFF_CHANNEL and p.thread == ts]

    def in_channel(self, channel: str) -> list[Post]:
        return [p for p in self.posts if p.channel == channel]


def _tokens(pattern: re.Pattern[str], posts: list[Post]) -> list[tuple[str, Post]]:
    return [(m.group(0), p) for p in posts for m in pattern.finditer(p.text)]


def _once_in_order(
    kind: str, where: str, expected: list[str], found: list[tuple[str, Post]]
) -> list[Problem]:
    """Each expected token exactly once, first appearances in the expected order."""
    problems = []
    counts = Counter(token for token, _ in found)
    for token in expected:
        if counts[token] == 0:
            problems.append(Problem(f"{kind} lost", f"{where}: {token!r} never arrived"))
        elif counts[token] > 1:
            copies = ", ".join(p.where for t, p in found if t == token)
            problems.append(
                Problem(f"{kind} doubled", f"{where}: {token!r} {counts[token]}x ({copies})")
            )
    problems.extend(
        Problem(f"{kind} misplaced", f"{where}: {token!r} does not belong here")
        for token in counts.keys() - set(expected)
    )
    firsts = list(dict.fromkeys(token for token, _ in found if token in expected))
    wanted = [t for t in expected if t in counts]
    if firsts != wanted:
        seen = [f"{t}@{p.where}" for t, p in found]
        problems.append(
            Problem(f"{kind} out of order", f"{where}: arrived {seen}, written {wanted}")
        )
    return problems


def audit(log: PostLog, plan: Plan, unacknowledged: list[Inbound] | None = None) -> list[Problem]:
    """Everything wrong with what the fake Slack shows; empty when nothing is."""
    log.update()
    problems = [
        Problem("event never acknowledged", f"{e.event_id} {e.token}: {e.failures[-3:]}")
        for e in unacknowledged or []
    ]
    by_ref: dict[tuple[int, int], list[Post]] = defaultdict(list)
    for post in log.posts:
        if post.ref is None:
            problems.append(
                Problem("post without outbox metadata", f"{post.channel}: {post.text[:80]!r}")
            )
        else:
            by_ref[post.ref].append(post)
    for (outbox_id, part), copies in sorted(by_ref.items()):
        if len(copies) > 1:
            where = ", ".join(f"{p.channel}/{p.where}" for p in copies)
            what = f"outbox {outbox_id} part {part} {len(copies)}x ({where})"
            problems.append(Problem("outbox row posted twice", f"{what}: {copies[0].text[:60]!r}"))

    top = [p for p in log.in_channel(STAFF_CHANNEL) if not p.thread]
    numbers: Counter[int] = Counter()
    for post in top:
        found = CARD_NUMBER.match(post.text)
        if found is None:
            problems.append(Problem("staff channel: not a card", post.text[:80]))
        else:
            numbers[int(found.group(1))] += 1
    for number, count in sorted(numbers.items()):
        if count > 1:
            problems.append(Problem("ticket with several cards", f"#{number}: {count} cards"))
    if len(numbers) != len(plan.customers):
        problems.append(
            Problem(
                "ticket count", f"{len(numbers)} tickets have cards, {len(plan.customers)} wrote"
            )
        )
    known = {c.channel for c in plan.customers} | {STAFF_CHANNEL}
    problems.extend(
        Problem("post to unexpected channel", f"{post.channel}: {post.text[:60]!r}")
        for post in log.posts
        if post.channel not in known
    )

    for customer in plan.customers:
        name = f"customer {customer.index:03d}"
        cards = log.cards.get(customer.index, [])
        if len(cards) != 1:
            where = ", ".join(p.where for p in cards)
            problems.append(
                Problem("customer with not one card", f"{name}: {len(cards)} ({where})")
            )
        # the DM: one acknowledgement, the agent's replies once each, in order
        dms = log.in_channel(customer.channel)
        acks = [p for p in dms if ACK_NUMBER.search(p.text)]
        if len(acks) != 1:
            where = ", ".join(p.where for p in acks)
            problems.append(
                Problem("customer not acknowledged once", f"{name}: {len(acks)} ({where})")
            )
        elif cards:
            card_match = CARD_NUMBER.match(cards[0].text)
            ack_match = ACK_NUMBER.search(acks[0].text)
            # both lists were picked out by these very patterns
            assert card_match is not None
            assert ack_match is not None
            card_number, said = card_match.group(1), ack_match.group(1)
            if said != card_number:
                problems.append(
                    Problem("ack names another ticket", f"{name}: #{said}, card #{card_number}")
                )
        replies = _tokens(_REPLY_TOKEN, dms)
        others = [p for p in dms if p not in acks and not _REPLY_TOKEN.search(p.text)]
        problems.extend(
            Problem("unexpected DM", f"{name}: {post.text[:80]!r} ({post.where})")
            for post in others
        )
        expected = [r.token for r in plan.replies.get(customer.index, [])]
        where = name if len(cards) < 2 else f"{name} (agent wrote under the first of its cards)"
        problems += _once_in_order("agent reply", where, expected, replies)
        # the staff threads of its cards (one, unless a card was doubled): the customer's
        # messages, once, in the order sent, and nothing else
        expected = [customer.token(seq) for seq in range(1, len(customer.texts) + 1)]
        cards_ts = {card.ts for card in cards}
        thread = [p for p in log.posts if p.channel == STAFF_CHANNEL and p.thread in cards_ts]
        relayed = _tokens(_CUSTOMER_TOKEN, thread)
        where = f"{name} thread" + ("s " if len(cards) > 1 else " ") + ", ".join(sorted(cards_ts))
        problems += _once_in_order("customer message", where, expected, relayed)
        for post in thread:
            if not _CUSTOMER_TOKEN.search(post.text):
                problems.append(
                    Problem("unexpected post in staff thread", f"{name}: {post.text[:80]!r}")
                )
    return problems


def summary(problems: list[Problem], examples: int = 3) -> str:
    """Counted by kind, with the first few examples of each."""
    kinds = Counter(p.kind for p in problems)
    lines = []
    for kind, count in kinds.most_common():
        lines.append(f"{kind}: {count}")
        lines += [f"    {p.detail}" for p in problems if p.kind == kind][:examples]
    return "\n".join(lines)
