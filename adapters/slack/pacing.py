"""Slack's documented rate limits, paced ahead rather than learned from 429s.

`chat.postMessage` allows about one message per second per channel (threads count with
their channel), with short bursts; the outbox sender paces those per channel (see
`SlackDeliverer.route`), so a message waiting for a busy channel holds no sending slot.
The other methods have a tier: a number of calls per minute per workspace (Tier 2: 20+,
Tier 3: 50+, Tier 4: 100+), paced here for every call the app makes, listeners included.
A 429's Retry-After closes the method for that long.

`users.info` is left to Slack: it runs before a customer's message is stored (for their name
and language), so waiting for its tier would hold a burst's acknowledgements for minutes,
while a refused lookup loses nothing (the message goes on under the user id)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.delivery.pacing import Pacer, Route

# about one per second per channel; a burst of 3 stays inside Slack's "short bursts"
POST_PER_SECOND = 1.0
POST_BURST = 3
_PER_MINUTE = {2: 20, 3: 50, 4: 100}
TIERS = {
    "chat.update": 3,
    "reactions.add": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.info": 3,
    "chat.getPermalink": 4,
    "conversations.members": 4,
    "conversations.open": 3,
    "users.conversations": 3,
    "views.open": 4,
    "views.update": 4,
    "views.publish": 4,
    "usergroups.users.list": 2,
}


def tier_route(method: str, scale: float = 1.0, *, shared: bool = False) -> Route | None:
    """`shared`: also taken from the ledger that every process on the database shares (a
    tier is the workspace's, whichever process calls)."""
    tier = TIERS.get(method)
    if tier is None:
        return None
    per_minute = _PER_MINUTE[tier]
    # calls on a tier need not wait for each other's answers; only the rate counts
    return Route(
        f"slack:{method}",
        per_minute * scale / 60,
        burst=per_minute // 6,
        serial=False,
        shared=shared,
    )


def post_route(channel: str, scale: float = 1.0) -> Route:
    # every process posts into a channel (the staff channel above all); a DM is one
    # customer's, whose messages go from one process at a time
    shared = not channel.startswith("D")
    return Route(f"slack:post:{channel}", POST_PER_SECOND * scale, burst=POST_BURST, shared=shared)


# methods whose turn the caller took already (the outbox sender, before its sending slot)
_PACED_AHEAD: ContextVar[frozenset[str]] = ContextVar("paced_ahead", default=frozenset())


@contextmanager
def paced_ahead(*methods: str) -> Iterator[None]:
    """Calls of `methods` in this block had their turn: the client does not pace them again
    (a second turn would wait while holding the sender's slot, and count twice)."""
    token = _PACED_AHEAD.set(frozenset(methods))
    try:
        yield
    finally:
        _PACED_AHEAD.reset(token)


def retry_after(error: SlackApiError) -> float | None:
    response = error.response
    if response.status_code != 429 and response.get("error") != "ratelimited":
        return None
    headers = response.headers or {}
    return float(headers.get("Retry-After", headers.get("retry-after", 1)))


class PacedWebClient(AsyncWebClient):
    """Every tiered call waits for its turn; a 429 holds its method for the Retry-After."""

    def __init__(self, *args: Any, pacer: Pacer, rate_scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer
        self.rate_scale = rate_scale

    def __deepcopy__(self, memo: dict[int, Any]) -> PacedWebClient:
        # Bolt deep-copies each request for its lazy listeners, client included: a copy
        # would pace on its own and could not copy the shared HTTP session at all
        return self

    async def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> AsyncSlackResponse:
        paced = api_method in _PACED_AHEAD.get()
        route = None if paced else tier_route(api_method, self.rate_scale, shared=True)
        async with self.pacer.turn(route):
            try:
                return await super().api_call(api_method, *args, **kwargs)
            except SlackApiError as error:
                wait = retry_after(error)
                if wait is not None:  # posts, and what it paced: the outbox sender holds it
                    self.pacer.hold(route, wait)
                raise
