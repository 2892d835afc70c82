"""Slack's side of the burst (bench/burst.py): the customers, each writing once as Slack
delivers a DM (again while unacknowledged), the Web API calls as the fake carried them out,
and the floor of one chat.postMessage round trip."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.fake_slack import Call, FakeSlack, dm_envelope

CUSTOMERS = 300
LATENCY = 0.1  # seconds added to every Web API call
BURST, PER_SECOND = 4, 1.0  # chat.postMessage per channel
REDELIVER_AFTER, REDELIVERIES = 3.0, 3  # Slack's: unacknowledged after 3 s, up to 3 times
FLOOR_CALLS = 10
STAFF_CHANNEL = "CSTAFF0001"
TOKEN = "xoxb-test-token"


@dataclass
class Stamped:
    """When the fake carried out each Web API call (its latency already waited), in order."""

    calls: list[tuple[float, Call]] = field(default_factory=list)

    def install(self, fake: FakeSlack) -> None:
        handle: Callable[[Call], tuple[int, dict[str, str], dict[str, Any]]] = fake._handle

        def stamped(call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
            answer = handle(call)
            self.calls.append((time.monotonic(), call))
            return answer

        fake._handle = stamped  # type: ignore[method-assign]

    def between(self, start: float, end: float) -> list[tuple[float, Call]]:
        return [(at, call) for at, call in self.calls if start <= at <= end]


def event(customer: int, attempt: int, envelope: str, ts: str) -> dict[str, Any]:
    text = f"Order {1000 + customer} has not arrived. Could you check the tracking?"
    user = f"UCUST{customer:05d}"
    return dm_envelope(envelope, f"Ev0BURST{customer:05d}", dm(customer), user, text, ts, attempt)


def dm(customer: int) -> str:
    return f"D0BURST{customer:05d}"


@dataclass
class Customer:
    index: int
    sent_at: float = 0.0
    acked_at: float | None = None  # the bot acknowledged the envelope (Socket Mode)
    envelopes: int = 0


async def write(fake: FakeSlack, customer: Customer) -> None:
    """One customer's message, delivered as Slack would until the bot acknowledges it."""
    ts = fake.next_ts()
    customer.sent_at = time.monotonic()
    for attempt in range(1 + REDELIVERIES):
        customer.envelopes += 1
        envelope = f"env-burst-{customer.index}-{attempt}"
        answer = await fake.send_envelope(
            event(customer.index, attempt, envelope, ts), timeout=REDELIVER_AFTER
        )
        if answer is not None:
            customer.acked_at = time.monotonic()
            return


async def floor_round_trip(fake: FakeSlack) -> float:
    """One chat.postMessage round trip through slack_sdk, as the bot makes it (a fresh DM
    each, so the bucket never refuses it): the median of FLOOR_CALLS."""
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url + "api/", retry_handlers=[])
    await client.auth_test()  # imports and first use, not counted
    trips = []
    for i in range(FLOOR_CALLS):
        started = time.monotonic()
        await client.chat_postMessage(
            channel=f"D0FLOOR{i:04d}",
            text="Thanks, we have opened ticket #1.",
            unfurl_links=False,
            metadata={"event_type": "bench_floor", "event_payload": {"n": i}},
        )
        trips.append(time.monotonic() - started)
    return statistics.median(trips)


def is_post(call: Call, channel: str) -> bool:
    return call.method == "chat.postMessage" and str(call.args.get("channel", "")) == channel
