"""Slack's side of a burst against several `supportbot run` processes on one database.

    plan = Plan.make(rng, customers=200)            # who writes what, customers and agents
    log = PostLog(fake)                             # what the fake Slack carried out
    traffic = Traffic(fake, plan, SocketModeSlack(fake), log)  # or LoadBalancer(session, urls)
    traffic.start()
    await traffic.wait_acked(...)                   # progress, to time a kill by
    await traffic.wait_done(timeout=60)             # every event acknowledged

Every message is a Slack `message` event with its own event_id: a customer's DM, or an
agent's reply in the staff thread of that customer's ticket (the thread under its card, so
it can only be written once the card is in Slack). Each person writes their next message
only once the previous one was acknowledged, so the order of sending is the order the desk
must keep. An event that is not acknowledged (no answer within Slack's 3 s, the connection
or the process gone, a non-200 answer) is delivered again with the same event_id, as Slack
does, until it is.

Two ways in:
- `SocketModeSlack`: envelopes spread round robin over every open Socket Mode connection,
  whichever process holds it; an envelope whose connection closes is sent again at once.
- `LoadBalancer`: signed HTTP requests to the processes in turn; a refused connection, a
  timeout or a non-200 answer sends it again to the next process, with Slack's retry headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from tests.adapters.fake_slack import APP_ID, TEAM, FakeSlack
from tests.adapters.slack_harness import sign
from tests.e2e.crash_driver import STAFF_CHANNEL, Customer, make_customers
from tests.e2e.workers_audit import PostLog

__all__ = ["AGENTS", "Inbound", "LoadBalancer", "Plan", "SocketModeSlack", "Traffic"]

ACK_TIMEOUT = 3.0  # Slack's: an event not acknowledged within 3 s is delivered again
AGENTS = ("UAGENT0001", "UAGENT0002", "UAGENT0003")
MAX_ATTEMPTS = 40  # an event refused this often is a bug worth stopping for


@dataclass(eq=False)
class Inbound:
    """One message event: a customer's DM (`agent` empty) or an agent's reply."""

    customer: Customer
    seq: int  # its place among what this person writes in this conversation, from 1
    text: str
    agent: str = ""
    event_id: str = ""
    body: dict[str, Any] | None = None  # the event_callback, made when first sent
    attempts: int = 0
    acked: bool = False
    failures: list[str] = field(default_factory=list)  # why each unacknowledged try failed

    @property
    def token(self) -> str:
        return reply_token(self.customer, self.seq) if self.agent else self.customer.token(self.seq)


def reply_token(customer: Customer, seq: int) -> str:
    return f"reply c{customer.index:03d} r{seq}"


@dataclass
class Plan:
    customers: list[Customer]
    replies: dict[int, list[Inbound]]  # customer index -> the agent's replies, in order

    @classmethod
    def make(
        cls, rng: random.Random, customers: int, reply_share: float = 0.4, second: float = 0.5
    ) -> Plan:
        """`customers` customers writing one or two DMs; an agent answers some of them
        once or twice in the ticket's staff thread."""
        people = make_customers(rng, customers, second_share=second)
        replies: dict[int, list[Inbound]] = {}
        for customer in people:
            if rng.random() >= reply_share:
                continue
            agent = rng.choice(AGENTS)
            count = rng.choice((1, 2))
            replies[customer.index] = [
                Inbound(customer, seq, f"{reply_token(customer, seq)}: we are on it", agent)
                for seq in range(1, count + 1)
            ]
        return cls(people, replies)

    @property
    def customer_messages(self) -> int:
        return sum(len(c.texts) for c in self.customers)

    @property
    def agent_replies(self) -> int:
        return sum(len(r) for r in self.replies.values())


class Transport(Protocol):
    async def deliver(self, event: Inbound) -> str | None:
        """Deliver once; None when acknowledged, else why not."""


class SocketModeSlack:
    """Envelopes over the fake's Socket Mode connections, spread round robin."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self._ids = itertools.count(1)

    async def deliver(self, event: Inbound) -> str | None:
        assert event.body is not None
        attempt = event.attempts - 1
        envelope = {
            "envelope_id": f"env-workers-{next(self._ids)}",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": attempt,
            "retry_reason": "timeout" if attempt else "",
            "payload": event.body,
        }
        try:
            ack = await self.fake.send_envelope(
                envelope, timeout=ACK_TIMEOUT, give_up_on_close=True
            )
        except TimeoutError:
            return "no connection open"
        return None if ack is not None else "no ack (timeout or connection closed)"


class LoadBalancer:
    """Signed HTTP requests, each to the next process in turn; `urls()` gives one entry per
    process slot (None while a slot has no process listening)."""

    def __init__(self, session: aiohttp.ClientSession, urls: Callable[[], list[str | None]]):
        self.session = session
        self.urls = urls
        self._turn = itertools.count()

    async def deliver(self, event: Inbound) -> str | None:
        assert event.body is not None
        urls = self.urls()
        url = urls[next(self._turn) % len(urls)]
        if url is None:
            return "connection_failed (no process in this slot)"
        data = json.dumps(event.body)
        headers = {"Content-Type": "application/json", **sign(data)}
        if event.attempts > 1:
            reason = event.failures[-1].split(" ", 1)[0] if event.failures else "http_error"
            headers["X-Slack-Retry-Num"] = str(event.attempts - 1)
            headers["X-Slack-Retry-Reason"] = reason
        try:
            async with (
                asyncio.timeout(ACK_TIMEOUT),
                self.session.post(url, data=data.encode(), headers=headers) as response,
            ):
                await response.read()
                status = response.status
        except TimeoutError:
            return f"http_timeout ({url})"
        except (aiohttp.ClientError, OSError) as error:
            return f"connection_failed ({url}: {type(error).__name__})"
        return None if status == 200 else f"http_error ({url} answered {status})"


class Traffic:
    """Delivers the plan's events, `concurrency` at a time; see the module docstring."""

    def __init__(
        self,
        fake: FakeSlack,
        plan: Plan,
        transport: Transport,
        log: PostLog,
        concurrency: int = 16,
        window: int = 30,
    ) -> None:
        self.fake = fake
        self.log = log
        self.plan = plan
        self.transport = transport
        self.concurrency = concurrency
        self.sent: list[Inbound] = []  # in order of first delivery
        self.acked = {"customer": 0, "agent": 0}
        self.redeliveries = 0
        self.window = window
        self._ready: deque[Inbound] = deque()
        self._arriving: deque[Customer] = deque(plan.customers)  # not written yet
        self._waiting_card: dict[int, Inbound] = {}  # customer index -> first reply
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        for index, replies in plan.replies.items():
            self._waiting_card[index] = replies[0]
        self._arrive()

    @property
    def total(self) -> int:
        return self.plan.customer_messages + self.plan.agent_replies

    @property
    def done(self) -> bool:
        return sum(self.acked.values()) == self.total

    def unacknowledged(self) -> list[Inbound]:
        return [e for e in self.sent if not e.acked]

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._watch_cards()))

    async def stop(self) -> None:
        """Stop delivering; a worker that failed (a bug here, or an event refused
        MAX_ATTEMPTS times) raises its error."""
        for task in self._tasks:
            task.cancel()
        ended = await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for outcome in ended:
            if isinstance(outcome, Exception):
                raise outcome

    async def wait_acked(self, customer: int, agent: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Until at least this many customer messages and agent replies were acknowledged;
        False if that did not happen within `timeout` seconds."""

        def reached() -> bool:
            return self.acked["customer"] >= customer and self.acked["agent"] >= agent

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: reached() or self._failed())
        except TimeoutError:
            return False
        self._raise_failure()
        return True

    async def wait_done(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await self.wait_acked(self.plan.customer_messages, self.plan.agent_replies, timeout)

    def _failed(self) -> bool:
        return any(task.done() for task in self._tasks)

    def _raise_failure(self) -> None:
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    # -- the workers -----------------------------------------------------------------------

    async def _take(self) -> Inbound | None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.done or bool(self._ready))
            return None if self.done else self._ready.popleft()

    async def _work(self) -> None:
        while (event := await self._take()) is not None:
            if event.body is None:
                self._write(event)
                self.sent.append(event)
            event.attempts += 1
            self.redeliveries += event.attempts > 1
            failure = await self.transport.deliver(event)
            async with self._changed:
                if failure is None:
                    event.acked = True
                    self.acked["agent" if event.agent else "customer"] += 1
                    self._next_after(event)
                else:
                    event.failures.append(failure)
                    if event.attempts >= MAX_ATTEMPTS:
                        raise AssertionError(
                            f"{event.event_id} ({event.token}) not acknowledged after "
                            f"{event.attempts} attempts: {event.failures[-5:]}"
                        )
                    self._ready.appendleft(event)  # Slack sends it again, soon
                self._changed.notify_all()

    def _write(self, event: Inbound) -> None:
        """The person writes the message now: it gets its ts and event id."""
        customer, ts = event.customer, self.fake.next_ts()
        if event.agent:
            card = self.log.card_ts(customer.index)
            assert card, f"{event.token} written before the card was seen"
            event.event_id = f"Ev0WORKR{customer.index:04d}R{event.seq}"
            message = {"channel": STAFF_CHANNEL, "channel_type": "channel", "thread_ts": card}
            message["user"] = event.agent
        else:
            event.event_id = f"Ev0WORKC{customer.index:04d}M{event.seq}"
            message = {"channel": customer.channel, "channel_type": "im", "user": customer.user}
        event.body = {
            "token": "x",
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event_id": event.event_id,
            "event_time": int(float(ts)),
            "event": {"type": "message", "text": event.text, "ts": ts, "event_ts": ts, **message},
        }

    def _next_after(self, event: Inbound) -> None:
        customer = event.customer
        if event.agent:
            replies = self.plan.replies[customer.index]
            if event.seq < len(replies):
                self._ready.append(replies[event.seq])
        elif event.seq < len(customer.texts):
            nxt = event.seq + 1
            self._ready.append(Inbound(customer, nxt, customer.texts[nxt - 1]))

    # -- as cards come: new customers arrive, agents answer ---------------------------------

    def _arrive(self) -> None:
        """Customers keep arriving while the desk works: at most `window` of them written
        to before their card is in Slack, so the burst spans the whole run."""
        allowed = len(self.log.cards) + self.window
        while self._arriving and len(self.plan.customers) - len(self._arriving) < allowed:
            customer = self._arriving.popleft()
            self._ready.append(Inbound(customer, 1, customer.texts[0]))

    async def _watch_cards(self) -> None:
        while self._waiting_card or self._arriving:
            posts = len(self.fake.called("chat.postMessage"))
            with contextlib.suppress(TimeoutError):
                await self.fake.wait_for("chat.postMessage", posts + 1, seconds=1.0)
            self.log.update()
            async with self._changed:
                for index, first in list(self._waiting_card.items()):
                    if index in self.log.cards:
                        del self._waiting_card[index]
                        self._ready.append(first)
                self._arrive()
                self._changed.notify_all()
