"""The fake Slack itself, driven by the real slack_sdk clients: latency, the per-channel post
limit and 429 storms on a fake clock, the message store read back through
conversations.history / conversations.replies, dropped connections, Socket Mode."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.fake_slack import BOT_USER, FakeSlack, running_fake_slack

C1, C2 = "C0000000001", "C0000000002"
TICKET = {"event_type": "ticket_posted", "event_payload": {"number": 7, "key": "k-7"}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeSlack]:
    async with running_fake_slack(clock=clock) as fake:
        yield fake


def client(fake: FakeSlack, **options: Any) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-t", base_url=fake.base_url + "api/", **options)


async def refused(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# --- latency ------------------------------------------------------------------------------


async def test_latency_is_added_before_each_answer(fake: FakeSlack) -> None:
    web = client(fake)
    fake.latency = 0.05
    started = time.monotonic()
    await web.auth_test()
    assert time.monotonic() - started >= 0.05


# --- rate limits --------------------------------------------------------------------------


async def test_posts_beyond_the_channel_bucket_get_429_with_retry_after(
    fake: FakeSlack, clock: Clock
) -> None:
    web = client(fake)
    fake.limit_posts(burst=4, per_second=1.0)
    for n in range(4):
        await web.chat_postMessage(channel=C1, text=f"burst {n}")
    error = await refused(web.chat_postMessage(channel=C1, text="one too many"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"
    await web.chat_postMessage(channel=C2, text="another channel has its own bucket")

    assert len(fake.refused) == 1
    assert fake.refused[0].args["text"] == "one too many"
    assert len(fake.accepted("chat.postMessage")) == 5
    assert len(fake.called("chat.postMessage")) == 6  # every call is recorded
    assert [m["text"] for m in fake.messages(C1)] == [f"burst {n}" for n in range(4)]


async def test_the_bucket_refills_on_the_clock(fake: FakeSlack, clock: Clock) -> None:
    web = client(fake)
    fake.limit_posts(burst=2, per_second=1.0)
    await web.chat_postMessage(channel=C1, text="a")
    await web.chat_postMessage(channel=C1, text="b")
    await refused(web.chat_postMessage(channel=C1, text="c"))
    clock.now += 1.0
    await web.chat_postMessage(channel=C1, text="c")
    await refused(web.chat_postMessage(channel=C1, text="d"))
    clock.now += 10  # refills to the burst, no further
    for text in ("d", "e"):
        await web.chat_postMessage(channel=C1, text=text)
    await refused(web.chat_postMessage(channel=C1, text="f"))
    assert [m["text"] for m in fake.messages(C1)] == ["a", "b", "c", "d", "e"]
    assert len(fake.refused) / len(fake.called("chat.postMessage")) == 3 / 8


async def test_retry_after_is_whole_seconds_until_a_token(fake: FakeSlack, clock: Clock) -> None:
    web = client(fake)
    fake.limit_posts(burst=1, per_second=0.2)  # one post per 5 s
    await web.chat_postMessage(channel=C1, text="a")
    clock.now += 1.5
    error = await refused(web.chat_postMessage(channel=C1, text="b"))
    assert error.response.headers["Retry-After"] == "4"  # 3.5 s, rounded up


async def test_without_a_limit_posts_are_never_refused(fake: FakeSlack) -> None:
    web = client(fake)
    for n in range(20):
        await web.chat_postMessage(channel=C1, text=str(n))
    assert fake.refused == []
    assert len(fake.messages(C1)) == 20


async def test_a_storm_refuses_every_write_until_it_ends(fake: FakeSlack, clock: Clock) -> None:
    web = client(fake)
    posted = await web.chat_postMessage(channel=C1, text="before")
    fake.storm(600)
    for call in (
        web.chat_postMessage(channel=C1, text="during"),
        web.chat_update(channel=C1, ts=posted["ts"], text="edited"),
        web.reactions_add(channel=C1, timestamp=posted["ts"], name="eyes"),
    ):
        error = await refused(call)
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "30"
    assert (await web.conversations_history(channel=C1))["ok"]  # reads go through
    clock.now += 598.5
    error = await refused(web.chat_postMessage(channel=C1, text="nearly over"))
    assert error.response.headers["Retry-After"] == "2"  # never past the storm's end
    clock.now += 1.5
    await web.chat_postMessage(channel=C1, text="after")
    assert [m["text"] for m in fake.messages(C1)] == ["before", "after"]
    assert len(fake.refused) == 4


# --- the message store, conversations.history and conversations.replies ----------------------


async def test_history_is_newest_first_with_metadata_only_when_asked(fake: FakeSlack) -> None:
    web = client(fake)
    first = await web.chat_postMessage(channel=C1, text="first")
    await web.chat_postMessage(channel=C1, text="card", metadata=TICKET)
    # a form-encoded call carries the metadata as a JSON string
    await web.api_call(
        "chat.postMessage",
        data={"channel": C1, "text": "form", "metadata": json.dumps(TICKET)},
    )
    await web.chat_postMessage(channel=C1, thread_ts=first["ts"], text="a reply")

    history = await web.conversations_history(channel=C1)
    assert [m["text"] for m in history["messages"]] == ["form", "card", "first"]
    assert all("metadata" not in m for m in history["messages"])
    assert history["has_more"] is False
    assert history["response_metadata"]["next_cursor"] == ""
    parent = history["messages"][-1]
    assert parent["reply_count"] == 1
    assert parent["thread_ts"] == first["ts"]
    assert parent["user"] == BOT_USER
    assert parent["bot_id"]

    history = await web.conversations_history(channel=C1, include_all_metadata=True)
    assert [m.get("metadata") for m in history["messages"]] == [TICKET, TICKET, None]

    found = fake.posts_with_metadata("ticket_posted")
    assert [(m["channel"], m["text"]) for m in found] == [(C1, "card"), (C1, "form")]
    assert fake.posts_with_metadata("something_else") == []


async def test_an_unknown_channel_has_an_empty_history(fake: FakeSlack) -> None:
    history = await client(fake).conversations_history(channel="D0NOBODY01")
    assert history["messages"] == []
    assert history["has_more"] is False


async def test_history_pages_with_a_cursor_and_honours_the_bounds(fake: FakeSlack) -> None:
    web = client(fake)
    ts = [(await web.chat_postMessage(channel=C1, text=str(n)))["ts"] for n in range(5)]
    seen, cursor = [], None
    while True:
        page = await web.conversations_history(channel=C1, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert seen == ["4", "3", "2", "1", "0"]

    between = await web.conversations_history(channel=C1, oldest=ts[1], latest=ts[3])
    assert [m["text"] for m in between["messages"]] == ["2"]
    inclusive = await web.conversations_history(
        channel=C1, oldest=ts[1], latest=ts[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["3", "2", "1"]


async def test_replies_list_the_parent_then_its_replies_oldest_first(fake: FakeSlack) -> None:
    web = client(fake)
    parent = await web.chat_postMessage(channel=C1, text="card", metadata=TICKET)
    for n in range(3):
        await web.chat_postMessage(channel=C1, thread_ts=parent["ts"], text=f"reply {n}")
    await web.chat_postMessage(channel=C1, text="elsewhere")

    thread = await web.conversations_replies(channel=C1, ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["card", "reply 0", "reply 1", "reply 2"]
    assert all(m["thread_ts"] == parent["ts"] for m in thread["messages"])
    assert "metadata" not in thread["messages"][0]
    with_metadata = await web.conversations_replies(
        channel=C1, ts=parent["ts"], include_all_metadata=True
    )
    assert with_metadata["messages"][0]["metadata"] == TICKET

    first = await web.conversations_replies(channel=C1, ts=parent["ts"], limit=2)
    assert [m["text"] for m in first["messages"]] == ["card", "reply 0", "reply 1"]
    assert first["has_more"] is True
    rest = await web.conversations_replies(
        channel=C1, ts=parent["ts"], limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["card", "reply 2"]
    assert rest["has_more"] is False

    assert [m["text"] for m in fake.replies(C1, parent["ts"])] == ["reply 0", "reply 1", "reply 2"]
    assert [m["text"] for m in fake.messages(C1)] == ["card", "elsewhere"]
    error = await refused(web.conversations_replies(channel=C1, ts="1.000001"))
    assert error.response["error"] == "thread_not_found"


async def test_an_update_changes_the_kept_message(fake: FakeSlack) -> None:
    web = client(fake)
    posted = await web.chat_postMessage(channel=C1, text="open")
    await web.chat_update(channel=C1, ts=posted["ts"], text="closed")
    assert [m["text"] for m in fake.messages(C1)] == ["closed"]
    assert "edited" in fake.messages(C1)[0]


# --- dropped connections ------------------------------------------------------------------


async def test_a_post_dropped_after_effect_fails_but_is_in_the_channel(fake: FakeSlack) -> None:
    web = client(fake, retry_handlers=[])
    fake.drop("chat.postMessage")
    with pytest.raises(aiohttp.ClientConnectionError):
        await web.chat_postMessage(channel=C1, text="lost answer", metadata=TICKET)
    history = await web.conversations_history(channel=C1, include_all_metadata=True)
    assert [(m["text"], m["metadata"]) for m in history["messages"]] == [("lost answer", TICKET)]
    assert [c.dropped for c in fake.calls if c.method == "chat.postMessage"] == [True]
    await web.chat_postMessage(channel=C1, text="next one answers")  # the drop was used up


async def test_a_post_dropped_before_effect_fails_and_is_nowhere(fake: FakeSlack) -> None:
    web = client(fake, retry_handlers=[])
    fake.drop("chat.postMessage", count=2, after_effect=False)
    for _ in range(2):
        with pytest.raises(aiohttp.ClientConnectionError):
            await web.chat_postMessage(channel=C1, text="never arrived")
    assert fake.messages(C1) == []
    assert fake.accepted("chat.postMessage") == []
    assert len([c for c in fake.calls if c.dropped]) == 2


async def test_the_default_retry_posts_a_dropped_post_twice(fake: FakeSlack) -> None:
    """slack_sdk retries a connection error once by default (AsyncConnectionErrorRetryHandler):
    a post whose answer was lost lands twice, as it would on Slack."""
    fake.drop("chat.postMessage")
    no_wait = FixedValueRetryIntervalCalculator(0)  # the default waits about a second
    web = client(fake, retry_handlers=[AsyncConnectionErrorRetryHandler(1, no_wait)])
    await web.chat_postMessage(channel=C1, text="twice")
    assert [m["text"] for m in fake.messages(C1)] == ["twice", "twice"]


# --- Socket Mode --------------------------------------------------------------------------


def envelope(n: int) -> dict[str, Any]:
    return {
        "envelope_id": f"env-{n}",
        "type": "events_api",
        "accepts_response_payload": False,
        "payload": {"type": "event_callback", "event": {"type": "app_mention", "text": str(n)}},
    }


@pytest.fixture
async def sockets(fake: FakeSlack) -> AsyncIterator[list[tuple[SocketModeClient, list[str]]]]:
    """Two connections of one app, each acknowledging what it gets and noting it."""
    opened: list[tuple[SocketModeClient, list[str]]] = []
    for _ in range(2):
        received: list[str] = []
        socket = SocketModeClient(app_token="xapp-t", web_client=client(fake))

        async def ack(
            socket: SocketModeClient, request: SocketModeRequest, received: list[str] = received
        ) -> None:
            received.append(request.envelope_id)
            await socket.send_socket_mode_response(SocketModeResponse(request.envelope_id))

        socket.socket_mode_request_listeners.append(ack)  # type: ignore[arg-type]
        await socket.connect()  # type: ignore[no-untyped-call]
        opened.append((socket, received))
    await fake.wait_for_sockets(2)
    try:
        yield opened
    finally:
        for socket, _ in opened:
            await socket.close()  # type: ignore[no-untyped-call]


async def test_envelopes_go_round_robin_over_the_connections(
    fake: FakeSlack, sockets: list[tuple[SocketModeClient, list[str]]]
) -> None:
    for n in range(4):
        ack = await fake.send_envelope(envelope(n))
        assert ack == {"envelope_id": f"env-{n}"}
    assert sorted(len(received) for _, received in sockets) == [2, 2]
    assert {tuple(received) for _, received in sockets} == {("env-0", "env-2"), ("env-1", "env-3")}
    chosen = next(received for _, received in sockets if "env-0" in received)
    await fake.send_envelope(envelope(9), connection=0)
    assert chosen[-1] == "env-9"


async def test_an_envelope_nobody_acknowledges_returns_none(fake: FakeSlack) -> None:
    socket = SocketModeClient(app_token="xapp-t", web_client=client(fake))  # never acks
    await socket.connect()  # type: ignore[no-untyped-call]
    try:
        assert await fake.send_envelope(envelope(1), timeout=0.05) is None
        assert fake.socket_acks == []
    finally:
        await socket.close()  # type: ignore[no-untyped-call]


async def test_closed_sockets_are_reopened_by_the_client(
    fake: FakeSlack, sockets: list[tuple[SocketModeClient, list[str]]]
) -> None:
    await fake.close_sockets()
    await fake.wait_for("apps.connections.open", count=4, seconds=5)
    await fake.wait_for_sockets(2)
    assert await fake.send_envelope(envelope(1)) == {"envelope_id": "env-1"}
