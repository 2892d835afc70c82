"""The fake Discord where delivery guarantees and catch-up depend on it, driven by discord.py's
own HTTP client and gateway where it can be, and by plain aiohttp where discord.py would retry
by itself (it sleeps 1, 3, 5, 7, 9 s between tries on 500/502/504/524, real time) or where the
raw answer is the point. Time comes from a clock the test moves; nothing sleeps for real beyond
a few hundredths of a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route, handle_message_parameters

from tests.adapters.fake_discord import BOT, FORUM, TEXT, FakeDiscord, running_fake_discord

CHANNEL, CUSTOMER, AGENT = 5000, 4200, 4300


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord(clock=clock) as fake:
        # as adapters/discord/app.py does with DISCORD_API_URL and DISCORD_GATEWAY_URL
        monkeypatch.setattr(Route, "BASE", fake.base_url + "/api/v10")
        gateway = yarl.URL(fake.base_url.replace("http", "ws") + "/gateway/")
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", gateway)
        yield fake


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[HTTPClient]:
    client = HTTPClient(asyncio.get_running_loop())
    await client.static_login("fake-token")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def raw(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(fake.base_url + "/api/v10/") as session:
        yield session


async def send(
    http: HTTPClient, content: str, nonce: str | None = None, channel: int = CHANNEL
) -> dict[str, Any]:
    """As channel.send(content, nonce=...) does: discord.py adds enforce_nonce to any nonce."""
    params = handle_message_parameters(content=content, nonce=nonce)
    return dict(await http.send_message(channel, params=params))


def contents(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The texts of raw message payloads: dicts, or discord.py's Message TypedDicts."""
    return [m["content"] for m in messages]


# --- history ---------------------------------------------------------------------------------


async def test_history_pages_newest_first_like_discord(fake: FakeDiscord, http: HTTPClient) -> None:
    ids = [int((await send(http, f"m{i}"))["id"]) for i in range(5)]
    assert contents(await http.logs_from(CHANNEL, 2)) == ["m4", "m3"]
    assert contents(await http.logs_from(CHANNEL, 2, before=ids[3])) == ["m2", "m1"]
    # `after` takes the oldest ones after it, still listed newest first
    assert contents(await http.logs_from(CHANNEL, 2, after=ids[0])) == ["m2", "m1"]
    assert contents(await http.logs_from(CHANNEL, 3, around=ids[2])) == ["m3", "m2", "m1"]
    assert await http.logs_from(CHANNEL, 100, after=ids[4]) == []
    assert await http.logs_from(CHANNEL + 1, 10) == []
    with pytest.raises(discord.HTTPException) as refused:
        await http.logs_from(CHANNEL, 101)
    assert refused.value.status == 400
    assert refused.value.code == 50035


async def test_history_defaults_to_50_and_compares_ids_as_numbers(
    fake: FakeDiscord, raw: aiohttp.ClientSession
) -> None:
    for i in range(60):
        fake.post_while_away(CHANNEL, CUSTOMER, f"away {i}")
    # "99" sorts after "1000000" as text; Discord's ids are numbers
    await fake.dispatch("MESSAGE_CREATE", fake.message_event(CUSTOMER, "a", "low", 6000, None, 99))
    await fake.dispatch(
        "MESSAGE_CREATE", fake.message_event(CUSTOMER, "a", "high", 6000, None, 1_000_000)
    )
    async with raw.get(f"channels/{CHANNEL}/messages") as answer:
        page = await answer.json()
    assert len(page) == 50
    assert page[0]["content"] == "away 59"
    assert [int(m["id"]) for m in page] == sorted((int(m["id"]) for m in page), reverse=True)
    async with raw.get("channels/6000/messages", params={"after": "98"}) as answer:
        assert contents(await answer.json()) == ["high", "low"]
    async with raw.get("channels/6000/messages", params={"before": "1000000"}) as answer:
        assert contents(await answer.json()) == ["low"]


async def test_what_reaches_discord_is_kept_but_only_dispatches_reach_the_bot(
    fake: FakeDiscord, http: HTTPClient, raw: aiohttp.ClientSession
) -> None:
    event = fake.message_event(CUSTOMER, "alice", "hello", CHANNEL, message_id=777001)
    await fake.dispatch("MESSAGE_CREATE", event)
    await fake.dispatch("MESSAGE_CREATE", event)  # redelivered: still one message
    away = fake.post_while_away(CHANNEL, CUSTOMER, "while you were out")
    in_guild = fake.post_while_away(TEXT, AGENT, "in the server", guild=True)
    assert in_guild["guild_id"]
    assert in_guild["member"]["roles"] == []
    assert "guild_id" not in away
    assert away["author"]["id"] == str(CUSTOMER)
    assert [p["d"]["content"] for p in fake.history] == ["hello", "hello"]  # no dispatch
    reply = await send(http, "hi alice")
    params = handle_message_parameters(content="hi Alice")
    edited = await http.edit_message(CHANNEL, reply["id"], params=params)
    assert edited["id"] == reply["id"]
    page = await http.logs_from(CHANNEL, 10)
    assert contents(page) == ["hi Alice", "while you were out", "hello"]
    assert fake.message_count(CHANNEL) == 3
    assert fake.doubles(CHANNEL) == []
    # a DM tells Discord which channel is that user's DM, and it stays the same
    assert (await http.start_private_message(CUSTOMER))["id"] == str(CHANNEL)
    first = await http.start_private_message(AGENT)
    assert (await http.start_private_message(AGENT))["id"] == first["id"]


async def test_starters_and_follow_ups_are_kept_ephemeral_ones_are_not(
    fake: FakeDiscord, raw: aiohttp.ClientSession
) -> None:
    post = {"name": "#1", "message": {"content": "card"}}
    async with raw.post(f"channels/{FORUM}/threads", json=post):
        pass
    thread = next(iter(fake.threads))
    assert contents(fake.messages(thread)) == ["card"]
    asked = await fake.interact(2, {"name": "list"}, AGENT, "bob", CHANNEL, roles=[])
    for body in ({"content": "shown"}, {"content": "only you", "flags": 64}):
        async with raw.post(f"webhooks/{BOT}/token-{asked}", json=body) as answer:
            assert (await answer.json())["channel_id"] == str(CHANNEL)
    assert contents(fake.messages(CHANNEL)) == ["shown"]


# --- nonce ---------------------------------------------------------------------------------


async def test_an_enforced_nonce_gives_back_the_first_message(
    fake: FakeDiscord, http: HTTPClient, clock: Clock
) -> None:
    first = await send(http, "ticket #1 opened", nonce="outbox-17")
    again = await send(http, "ticket #1 opened", nonce="outbox-17")
    assert again == first
    assert first["nonce"] == "outbox-17"
    assert fake.message_count(CHANNEL) == 1
    assert (await send(http, "ticket #1 opened", nonce="outbox-17", channel=CHANNEL + 1))["id"]
    clock.now += fake.nonce_window + 1  # "the past few minutes" are over
    later = await send(http, "ticket #1 opened", nonce="outbox-17")
    assert later["id"] != first["id"]
    assert fake.doubles(CHANNEL) == ["ticket #1 opened"]
    with pytest.raises(discord.HTTPException) as refused:
        await send(http, "x", nonce="a-uuid-4-is-36-characters-long-----")
    assert refused.value.status == 400
    assert "nonce" in str(refused.value)


async def test_a_nonce_without_enforce_nonce_makes_a_new_message(
    fake: FakeDiscord, raw: aiohttp.ClientSession
) -> None:
    for _ in range(2):
        body = {"content": "twice", "nonce": "n1"}
        async with raw.post(f"channels/{CHANNEL}/messages", json=body) as answer:
            assert answer.status == 200
    assert fake.message_count(CHANNEL) == 2
    assert fake.doubles(CHANNEL) == ["twice"]


# --- dropped connections -------------------------------------------------------------------


async def test_a_lost_answer_and_a_retry_with_the_nonce_leave_one_message(
    fake: FakeDiscord, http: HTTPClient
) -> None:
    fake.drop(f"channels/{CHANNEL}/messages")  # it reached Discord; the answer did not come
    with pytest.raises(aiohttp.ServerDisconnectedError):  # discord.py does not retry a POST
        await send(http, "your ticket is #1", nonce="outbox-1")
    assert fake.message_count(CHANNEL) == 1
    assert fake.dropped == 1
    retried = await send(http, "your ticket is #1", nonce="outbox-1")
    assert contents(fake.messages(CHANNEL)) == ["your ticket is #1"]
    assert retried["id"] == fake.messages(CHANNEL)[0]["id"]


async def test_a_call_cut_before_it_took_effect_leaves_nothing(
    fake: FakeDiscord, http: HTTPClient
) -> None:
    fake.drop(f"channels/{CHANNEL}/messages", count=2, after_effect=False)
    for _ in range(2):
        with pytest.raises(aiohttp.ClientError):
            await send(http, "lost", nonce="outbox-2")
    assert fake.message_count(CHANNEL) == 0
    await send(http, "lost", nonce="outbox-2")
    assert fake.message_count(CHANNEL) == 1
    assert len(fake.called("POST", "/messages")) == 3


async def test_aiohttp_itself_retries_a_cut_get_once(fake: FakeDiscord, http: HTTPClient) -> None:
    await send(http, "kept")
    fake.drop(f"channels/{CHANNEL}/messages", method="GET")
    assert contents(await http.logs_from(CHANNEL, 5)) == ["kept"]  # the retry is invisible
    assert len(fake.called("GET", "/messages")) == 2
    assert fake.dropped == 1


# --- rate limits, latency, 5xx ---------------------------------------------------------------


async def test_a_limited_route_answers_429_as_discord_does(
    fake: FakeDiscord, raw: aiohttp.ClientSession, clock: Clock
) -> None:
    path = f"channels/{CHANNEL}/messages"
    fake.limit_route(path, per_window=2, window=10.0, method="POST")
    for remaining in ("1", "0"):
        async with raw.post(path, json={"content": "ok"}) as answer:
            assert answer.status == 200
            assert answer.headers["X-RateLimit-Limit"] == "2"
            assert answer.headers["X-RateLimit-Remaining"] == remaining
            assert float(answer.headers["X-RateLimit-Reset-After"]) == 10.0
            assert answer.headers["X-RateLimit-Bucket"]
            assert "X-RateLimit-Reset" in answer.headers
            assert "X-RateLimit-Scope" not in answer.headers  # only on a 429
    clock.now += 2.5
    async with raw.post(path, json={"content": "too many"}) as answer:
        assert answer.status == 429
        assert answer.headers["Content-Type"] == "application/json"
        assert await answer.json() == {
            "message": "You are being rate limited.",
            "retry_after": 7.5,
            "global": False,
        }
        assert answer.headers["Retry-After"] == "8"  # whole seconds, rounded up
        assert answer.headers["X-RateLimit-Remaining"] == "0"
        assert answer.headers["X-RateLimit-Scope"] == "user"
    assert fake.refused() == 1
    assert fake.refused(path) == 1
    assert fake.message_count(CHANNEL) == 2  # the refused call created nothing
    async with raw.get(path) as answer:  # another method: not limited here
        assert answer.status == 200
        assert "X-RateLimit-Limit" not in answer.headers
    clock.now += 7.5
    async with raw.post(path, json={"content": "ok again"}) as answer:
        assert answer.status == 200
        assert answer.headers["X-RateLimit-Remaining"] == "1"


async def test_discord_py_waits_out_a_429_and_sends_once(
    fake: FakeDiscord, http: HTTPClient, raw: aiohttp.ClientSession, clock: Clock
) -> None:
    path = f"channels/{CHANNEL}/messages"
    fake.limit_route(path, per_window=1, window=0.03, method="POST")
    async with raw.post(path, json={"content": "another process used the bucket"}):
        pass
    sending = asyncio.create_task(send(http, "hello"))
    await fake.wait_for("POST", path, count=2)
    assert fake.refused(path) == 1
    clock.now += 1  # discord.py sleeps retry_after (0.03 s), then tries again
    assert (await sending)["content"] == "hello"
    assert len(fake.called("POST", path)) == 3
    assert fake.message_count(CHANNEL) == 2


async def test_latency_comes_before_each_answer(fake: FakeDiscord, http: HTTPClient) -> None:
    fake.latency = 0.03
    loop = asyncio.get_running_loop()
    started = loop.time()
    await send(http, "slow")
    assert loop.time() - started >= 0.03


async def test_server_errors_as_queued(
    fake: FakeDiscord, http: HTTPClient, raw: aiohttp.ClientSession
) -> None:
    path = f"channels/{CHANNEL}/messages"
    fake.fail(path, 503, {"message": "Service Unavailable", "code": 0})
    with pytest.raises(discord.DiscordServerError):  # discord.py does not retry a 503
        await send(http, "first")
    assert len(fake.called("POST", path)) == 1
    for status in (500, 502):  # these discord.py retries by itself, after 1 s, 3 s, ...
        fake.fail(path, status, {"message": "Internal Server Error", "code": 0})
        async with raw.post(path, json={"content": "x"}) as answer:
            assert answer.status == status
    async with raw.post(path, json={"content": "through"}) as answer:
        assert answer.status == 200
    assert contents(fake.messages(CHANNEL)) == ["through"]


# --- gateway: resume, and a lost session -----------------------------------------------------


async def test_a_resume_replays_and_a_lost_session_needs_catching_up(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    heard: asyncio.Queue[str] = asyncio.Queue()
    ready = asyncio.Event()

    async def on_message(message: discord.Message) -> None:
        await heard.put(message.content)

    async def on_ready() -> None:
        ready.set()

    async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py's documented hook sleeps 5 s (real time) before every IDENTIFY but the
        first; a test has no other bots to stagger."""

    client.event(on_message)
    client.event(on_ready)
    client.before_identify_hook = identify_at_once  # type: ignore[method-assign]

    async def say(text: str) -> None:
        await fake.dispatch("MESSAGE_CREATE", fake.message_event(CUSTOMER, "a", text, TEXT, []))

    await client.login("fake-token")
    runner = asyncio.create_task(client.connect())
    try:
        async with asyncio.timeout(10):
            await ready.wait()
            await say("one")
            assert await heard.get() == "one"

            await fake.drop_connection()
            await say("two")  # kept for the RESUME
            await fake.resumed.wait()
            assert await heard.get() == "two"
            assert fake.identifies == 1
            assert fake.invalid_sessions == 0

            ready.clear()
            await fake.restart()
            await say("three")  # the session is gone: never dispatched to the bot again
            await fake.identified.wait()
            await ready.wait()
            assert fake.invalid_sessions == 1
            assert fake.identifies == 2
            assert not fake.resumed.is_set()
            last_seen = fake.messages(TEXT)[1]["id"]
            for i in range(120):
                fake.post_while_away(TEXT, CUSTOMER, f"away {i}", guild=True)
            await say("four")
            assert await heard.get() == "four"
            assert heard.empty()

            # catching up through discord.py's own paging (100 a page, `after`, newest first)
            channel = client.get_channel(TEXT)
            assert isinstance(channel, discord.TextChannel)
            missed = [
                m.content
                async for m in channel.history(limit=None, after=discord.Object(int(last_seen)))
            ]
            assert missed == ["three", *(f"away {i}" for i in range(120)), "four"]
    finally:
        await client.close()
        await asyncio.wait_for(runner, 10)
