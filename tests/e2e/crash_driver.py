"""Drive a burst of Slack DMs through a real `supportbot run` that keeps being killed (-9).

    customers = make_customers(rng, 80)
    run = CrashRun(fake, env, cwd, customers, rng)
    await run.crash_repeatedly(kills=21)     # each cycle: start, work a while, SIGKILL
    await run.finish()                       # start once more, let it settle, SIGTERM
    problems = audit(fake, customers)        # what Slack shows: nothing lost, nothing twice

`Burst` plays Slack's side of Socket Mode: every customer message is an events_api
envelope with its own event_id; an envelope that is not acknowledged (no ack within Slack's
3 s, or the process died first) is sent again with the same event_id in a new envelope
(`retry_attempt` counting up), until one is acknowledged. A customer's next message is
written only once the previous one was acknowledged, so the order of sending is the order
the desk must keep. New messages are released a slice per cycle, so the kills are spread
over the whole burst instead of all landing after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.adapters.fake_slack import FakeSlack, dm_envelope
from tests.support.bot_process import SUPPORTBOT, BotProcess

__all__ = ["Burst", "CrashRun", "Customer", "audit", "make_customers"]

ACK_TIMEOUT = 3.0  # Slack's: an event not acknowledged within 3 s is delivered again
CRASH_FALLBACK = 2.0  # a crash point waiting for work that does not come kills anyway
METADATA_TYPE = "supportbot_outbox"
STAFF_CHANNEL = "CSTAFF0001"

CARD_NUMBER = re.compile(r"^\*#(\d+) ")
ACK_NUMBER = re.compile(r"ticket #(\d+)")
_TOKEN = re.compile(r"crash c\d{3} m\d")


@dataclass(eq=False)
class Message:
    customer: Customer
    seq: int
    text: str
    event_id: str
    ts: str
    envelopes: list[str] = field(default_factory=list)
    acked: bool = False


@dataclass(eq=False)
class Customer:
    index: int
    user: str
    channel: str
    texts: list[str]
    sent: list[Message] = field(default_factory=list)

    def token(self, seq: int) -> str:
        return f"crash c{self.index:03d} m{seq}"


def make_customers(rng: random.Random, count: int, second_share: float = 0.5) -> list[Customer]:
    """`count` customers, each in a DM of their own; some write a second message."""
    customers = []
    for index in range(count):
        customer = Customer(index, f"UCUST{index:05d}", f"D0CRASH{index:04d}", [])
        customer.texts.append(f"{customer.token(1)}: my order {1000 + index} has not arrived")
        if rng.random() < second_share:
            customer.texts.append(f"{customer.token(2)}: it was a present, please hurry")
        customers.append(customer)
    return customers


class Burst:
    """Slack's side of Socket Mode for one burst of customer messages; see the module doc."""

    def __init__(self, fake: FakeSlack, customers: list[Customer], concurrency: int = 8) -> None:
        self.fake = fake
        self.customers = customers
        self.concurrency = concurrency
        self.total = sum(len(c.texts) for c in customers)
        self.acked = 0  # messages acknowledged
        self.released = 0  # messages written by customers so far
        self.envelopes = 0  # envelopes pushed, first deliveries and redeliveries
        self.redeliveries = 0
        self._budget = 0  # how many messages customers may have written by now
        self._fresh: deque[Customer] = deque(customers)  # whose next message is to be written
        self._retry: deque[Message] = deque()  # to be delivered again
        self._up = False
        self._down = asyncio.Event()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._ack_seen = 0
        self._acked_envelopes: set[str] = set()
        self._workers: list[asyncio.Task[None]] = []

    # -- the connection comes and goes ------------------------------------------------------

    def start_workers(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]

    async def stop_workers(self) -> None:
        """Stop delivering; a worker that failed (a bug here) raises its error."""
        for task in self._workers:
            task.cancel()
        ended = await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for outcome in ended:
            if isinstance(outcome, Exception):
                raise outcome

    async def connected(self, release: int) -> None:
        """The app is connected: deliveries go out, and `release` more new messages may."""
        async with self._changed:
            self._up = True
            self._down = asyncio.Event()
            self._budget = min(self.total, self._budget + release)
            self._changed.notify_all()

    async def disconnected(self) -> None:
        """The app is gone: what is in flight gets no acknowledgement."""
        self._down.set()
        async with self._changed:
            self._up = False
            self._changed.notify_all()

    @property
    def done(self) -> bool:
        return self.acked == self.total

    async def wait_acked(self, count: int, timeout: float) -> bool:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.acked >= count)
        except TimeoutError:
            return False
        return True

    # -- one delivery at a time, `concurrency` of them at once -------------------------------

    def _sendable(self) -> bool:
        return self._up and bool(self._retry or (self._fresh and self.released < self._budget))

    async def _take(self) -> tuple[Message, asyncio.Event] | None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.done or self._sendable())
            if self.done:
                return None
            if self._retry:
                return self._retry.popleft(), self._down
            customer = self._fresh.popleft()
            seq = len(customer.sent) + 1
            message = Message(
                customer,
                seq,
                customer.texts[seq - 1],
                f"Ev0CRASH{customer.index:04d}M{seq}",
                self.fake.next_ts(),
            )
            customer.sent.append(message)
            self.released += 1
            return message, self._down

    async def _work(self) -> None:
        while (taken := await self._take()) is not None:
            message, down = taken
            acked = await self._deliver(message, down)
            async with self._changed:
                if acked:
                    message.acked = True
                    self.acked += 1
                    if len(message.customer.sent) < len(message.customer.texts):
                        self._fresh.append(message.customer)  # writes again, after the ack
                else:
                    self._retry.append(message)
                self._changed.notify_all()

    async def _deliver(self, message: Message, down: asyncio.Event) -> bool:
        envelope_id = f"env-crash-{next(self._ids)}"
        attempt = len(message.envelopes)
        message.envelopes.append(envelope_id)
        self.envelopes += 1
        self.redeliveries += attempt > 0
        customer = message.customer
        envelope = dm_envelope(
            envelope_id,
            message.event_id,
            customer.channel,
            customer.user,
            message.text,
            message.ts,
            attempt,
        )
        send = asyncio.ensure_future(self.fake.send_envelope(envelope, timeout=ACK_TIMEOUT))
        gone = asyncio.ensure_future(down.wait())
        try:
            await asyncio.wait({send, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (send, gone):
                task.cancel()
            await asyncio.gather(send, gone, return_exceptions=True)
        # what the fake received decides, whoever won the race above
        return envelope_id in self._acked()

    def _acked(self) -> set[str]:
        acks = self.fake.socket_acks
        for ack in acks[self._ack_seen :]:
            self._acked_envelopes.add(str(ack.get("envelope_id", "")))
        self._ack_seen = len(acks)
        return self._acked_envelopes


@dataclass
class CrashRun:
    """The bot's life: started, killed at seeded random moments, started again."""

    fake: FakeSlack
    env: dict[str, str]
    cwd: Path
    customers: list[Customer]
    rng: random.Random
    runs: list[BotProcess] = field(default_factory=list)
    crash_points: Counter[str] = field(default_factory=Counter)
    burst: Burst = field(init=False)

    def __post_init__(self) -> None:
        self.burst = Burst(self.fake, self.customers)

    async def _start(self) -> BotProcess:
        bot = BotProcess(self.env, self.cwd)
        self.runs.append(bot)
        await bot.start(timeout=30)
        await self.fake.wait_for_sockets(1, seconds=10)
        return bot

    async def crash_repeatedly(self, kills: int) -> None:
        """`kills` runs, each killed: the first while it starts (maybe mid-migration), the
        others at random moments of the burst, which they share out between them."""
        self.burst.start_workers()
        await self._kill_while_starting()
        for cycle in range(1, kills):
            bot = await self._start()
            left = self.burst.total - self.burst.released
            await self.burst.connected(release=math.ceil(left / (kills - cycle + 1)))
            self.crash_points[await self._crash_point()] += 1
            assert bot.running, f"supportbot exited by itself:\n{bot.stderr_text()}"
            await bot.kill()
            await self.burst.disconnected()
            await self.fake.wait_for_sockets(0, seconds=10)

    async def _kill_while_starting(self) -> None:
        bot = BotProcess(self.env, self.cwd)
        self.runs.append(bot)
        starting = asyncio.create_task(bot.start(timeout=30))
        done, _ = await asyncio.wait({starting}, timeout=self.rng.uniform(0.3, 1.5))
        if done:
            starting.result()  # it failed to start by itself: that is the error to see
        await bot.kill()
        with contextlib.suppress(AssertionError):  # "exited before printing": we killed it
            await starting
        self.crash_points["start-up" + (" (after ready)" if done else "")] += 1
        await self.fake.wait_for_sockets(0, seconds=10)

    async def _crash_point(self) -> str:
        """Wait for a random moment of the work to kill at; what kind of moment it was."""
        mode = self.rng.choice(("acks", "posts", "posts", "delay"))
        if mode == "acks":  # while other envelopes are being stored, unacknowledged
            k = self.rng.randint(1, 6)
            hit = await self.burst.wait_acked(self.burst.acked + k, CRASH_FALLBACK)
        elif mode == "posts":  # right after a post reached Slack, its answer maybe not back
            j = self.rng.randint(1, 10)
            posts = len(self.fake.called("chat.postMessage"))
            try:
                await self.fake.wait_for("chat.postMessage", posts + j, seconds=CRASH_FALLBACK)
                hit = True
            except TimeoutError:
                hit = False
        else:  # anywhere: start-up, the in-doubt lookups, a store, a post
            await asyncio.sleep(self.rng.uniform(0.0, 0.8))
            hit = True
        return mode if hit else f"{mode} (fallback)"

    async def finish(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        """Start once more, release the rest, wait until everything is acknowledged and
        shown in Slack, then stop gracefully; the exit code."""
        bot = await self._start()
        await self.burst.connected(release=self.burst.total)
        waiting = "not looked at"
        try:
            async with asyncio.timeout(timeout):
                while not self.burst.done:
                    assert bot.running, f"supportbot exited by itself:\n{bot.stderr_text()}"
                    await self.burst.wait_acked(self.burst.total, 1.0)
                await self.burst.stop_workers()
                while not complete(self.fake, self.customers):
                    assert bot.running, f"supportbot exited by itself:\n{bot.stderr_text()}"
                    posts = len(self.fake.called("chat.postMessage"))
                    # look again after a post or a second; the outer timeout bounds it all
                    with contextlib.suppress(TimeoutError):
                        await self.fake.wait_for("chat.postMessage", posts + 1, seconds=1.0)
                # what no customer sees may still be on its way (a card's update): stopping
                # now would leave it for the next start, which is right, but not what this
                # run is checked for
                while (waiting := await outbox_waiting(self.env, self.cwd)) != NOTHING_WAITING:
                    assert bot.running, f"supportbot exited by itself:\n{bot.stderr_text()}"
        except TimeoutError:
            unacked = [
                (m.event_id, len(m.envelopes))
                for c in self.customers
                for m in c.sent
                if not m.acked
            ]
            problems = audit(self.fake, self.customers)
            raise AssertionError(
                f"not settled after {timeout}s: {self.burst.acked}/{self.burst.total} "
                f"acknowledged, unacknowledged (event, envelopes): {unacked[:20]}\n"
                + "\n".join(problems[:40])
                + f"\n{waiting}"
                + f"\nlast run's stderr (tail):\n{bot.stderr_text()[-4000:]}"
            ) from None
        return await bot.stop()

    async def close(self) -> None:
        for bot in self.runs:
            await bot.kill()
        with contextlib.suppress(Exception):  # already raised by finish() if it mattered
            await self.burst.stop_workers()

    def stderr(self) -> str:
        return "".join(
            f"--- run {i} (exit {bot.returncode}) ---\n{bot.stderr_text()}"
            for i, bot in enumerate(self.runs)
        )


NOTHING_WAITING = "outbox: 0 message(s) waiting to be delivered"


async def outbox_waiting(env: dict[str, str], cwd: Path) -> str:
    """`supportbot check`'s line on the outbox of the desk at env's DATABASE_URL."""
    proc = await asyncio.create_subprocess_exec(
        SUPPORTBOT,
        "check",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    found = re.search(r"^outbox: .*$", out.decode(), re.MULTILINE)
    assert found, out.decode()
    return found.group(0)


# -- what Slack shows --------------------------------------------------------------------


def _cards(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages(STAFF_CHANNEL) if CARD_NUMBER.match(m["text"])]


def _card_of(cards: list[dict[str, Any]], customer: Customer) -> list[dict[str, Any]]:
    return [c for c in cards if customer.token(1) in c["text"]]


def complete(fake: FakeSlack, customers: list[Customer]) -> bool:
    """Every customer has an acknowledgement and a card, and every message is relayed."""
    cards = _cards(fake)
    for customer in customers:
        found = _card_of(cards, customer)
        if not found or not fake.messages(customer.channel):
            return False
        # any of its cards' threads: a card posted twice must fail the audit, not hang here
        relayed = " ".join(
            r["text"] for card in found for r in fake.replies(STAFF_CHANNEL, card["ts"])
        )
        if any(customer.token(m.seq) not in relayed for m in customer.sent):
            return False
    return True


def _outbox_ref(message: dict[str, Any]) -> tuple[int, int] | None:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_TYPE:
        return None
    payload = meta.get("event_payload") or {}
    return int(payload["outbox_id"]), int(payload.get("part", 0))


def audit(fake: FakeSlack, customers: list[Customer]) -> list[str]:
    """Everything wrong with what the fake Slack shows; empty when nothing is."""
    problems: list[str] = []
    posted = fake.posts_with_metadata(METADATA_TYPE)
    accepted = fake.accepted("chat.postMessage")
    if len(posted) != len(accepted):
        problems.append(f"{len(accepted)} posts accepted, {len(posted)} carry outbox metadata")
    by_ref: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for message in posted:
        ref = _outbox_ref(message)
        assert ref is not None
        by_ref.setdefault(ref, []).append(message)
    for (outbox_id, part), copies in sorted(by_ref.items()):
        if len(copies) > 1:
            where = ", ".join(f"{m['channel']}@{m['ts']}" for m in copies)
            problems.append(
                f"outbox {outbox_id} part {part} posted {len(copies)} times ({where}): "
                f"{copies[0]['text'][:80]!r}"
            )

    top = fake.messages(STAFF_CHANNEL)
    cards = _cards(fake)
    problems.extend(
        f"staff channel: not a card: {message['text'][:80]!r}"
        for message in top
        if message not in cards
    )
    numbers = Counter(int(CARD_NUMBER.match(c["text"]).group(1)) for c in cards)  # type: ignore[union-attr]
    for number, count in sorted(numbers.items()):
        if count > 1:
            problems.append(f"ticket #{number} has {count} cards")
    card_ids = Counter(_outbox_ref(c) for c in cards)
    for ref, count in card_ids.items():
        if count > 1:
            problems.append(f"card outbox ref {ref} posted {count} times")
    if len(numbers) != len(customers):
        problems.append(f"{len(numbers)} tickets have cards, {len(customers)} customers wrote")

    known = {c.channel for c in customers} | {STAFF_CHANNEL}
    problems.extend(
        f"post to unexpected channel {message['channel']}"
        for message in posted
        if message["channel"] not in known
    )

    for customer in customers:
        name = f"customer {customer.index} ({customer.channel})"
        unacked = [m.seq for m in customer.sent if not m.acked]
        if len(customer.sent) != len(customer.texts) or unacked:
            problems.append(f"{name}: {len(customer.sent)} sent, not acknowledged: {unacked}")
        own = _card_of(cards, customer)
        if len(own) != 1:
            problems.append(f"{name}: {len(own)} cards")
        dms = fake.messages(customer.channel)
        ack_numbers = [ACK_NUMBER.search(m["text"]) for m in dms]
        if len(dms) != 1 or ack_numbers[0] is None:
            problems.append(f"{name}: {len(dms)} DMs, expected one ack: {[m['text'] for m in dms]}")
        if not own:
            continue
        number = int(CARD_NUMBER.match(own[0]["text"]).group(1))  # type: ignore[union-attr]
        if dms and ack_numbers[0] is not None and int(ack_numbers[0].group(1)) != number:
            problems.append(f"{name}: acknowledged as #{ack_numbers[0].group(1)}, card #{number}")
        replies = fake.replies(STAFF_CHANNEL, own[0]["ts"])
        relayed = [tokens for r in replies if (tokens := _TOKEN.findall(r["text"]))]
        expected = [[customer.token(seq)] for seq in range(1, len(customer.texts) + 1)]
        if relayed != expected or len(replies) != len(expected):
            texts = [r["text"][:60] for r in replies]
            problems.append(f"{name} #{number}: thread {texts}, expected {expected} in order")
    return problems
