"""A fake Slack on 127.0.0.1: the Web API methods the adapter uses (recording every call),
response URLs, and Socket Mode WebSockets. Payload shapes follow Slack's documentation.

It can also behave like Slack under load; each of these is off until a test asks for it:
- `latency`: seconds added before every Web API answer;
- `limit_posts()`: chat.postMessage limited per channel by a token bucket (Slack: about
  one message per second per channel, short bursts allowed), past which the answer is
  HTTP 429 with `Retry-After` and {"ok": false, "error": "ratelimited"};
- `storm_until`: every chat.postMessage / chat.update / reactions.add refused with 429
  until `clock()` reaches it;
- `drop()`: the next calls of a method cut without an answer, after or before they took
  effect;
- file uploads as Slack's external uploads go (see fake_slack_store.FileStore): the upload
  URL points back here, and what was shared is read back with `shared_files()`;
- several Socket Mode connections at once, envelopes spread round robin, `close_sockets()`;
  `send_envelope(..., give_up_on_close=True)` answers None as soon as the connection it went
  out on closes (Slack sees the app gone and will deliver again), not after the timeout.
Time for the bucket and the storm comes from `clock`, and latency is waited with `pause`;
a test can replace both with its own clock.
Posted messages are kept (`messages()`, `replies()`, `posts_with_metadata()`) and served
back by conversations.history and conversations.replies (see fake_slack_store). Modals and
Home tabs, and the person in front of them, are in `views` (see fake_slack_views); the
channels the bot is in and its DMs in `workspace` (see fake_slack_workspace)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.fake_slack_store import FileStore, MessageStore, Upload
from tests.adapters.fake_slack_views import ViewStore
from tests.adapters.fake_slack_workspace import Workspace

BOT_USER = "UBOT"
BOT_ID = "B0001"
APP_ID = "A0001"
TEAM = "T0001"
STORM_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "reactions.add", "files.completeUploadExternal"}
)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str
    result: dict[str, Any] = field(default_factory=dict)  # the answer, when it was ok
    status: int = 200  # HTTP status answered; if dropped, the one lost (0: cut before effect)
    dropped: bool = False  # cut without an answer (see FakeSlack.drop)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


PERMALINK = "https://acme.slack.com/archives/"


@dataclass
class FakeSlack:
    staff: set[str] = field(default_factory=set)
    group: set[str] = field(default_factory=set)  # SLACK_STAFF_GROUP's members
    usergroups: dict[str, set[str]] = field(default_factory=dict)  # other user groups, by id
    channel_members: dict[str, set[str]] = field(default_factory=dict)  # else: staff
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    refused: list[Call] = field(default_factory=list)  # the calls answered 429
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    failures: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = field(
        default_factory=dict
    )
    rejected_tokens: set[str] = field(default_factory=set)
    base_url: str = ""
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    latency: float = 0.0  # seconds before each Web API call is handled and answered
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep  # how latency is waited
    clock: Callable[[], float] = time.monotonic  # for the post bucket and the storm
    storm_until: float | None = None  # clock() value until which writes get 429
    storm_retry_after: int = 30  # the Retry-After of a storm (at most what is left of it)
    store: MessageStore = field(
        default_factory=lambda: MessageStore(BOT_USER, BOT_ID, APP_ID, TEAM)
    )
    files: FileStore = field(default_factory=FileStore)
    views: ViewStore = field(default_factory=ViewStore)
    workspace: Workspace = field(default_factory=Workspace)
    _post_limit: tuple[int, float] | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _drops: dict[str, list[tuple[bool, str]]] = field(default_factory=dict)
    _awaiting: dict[str, asyncio.Future[dict[str, Any] | None]] = field(default_factory=dict)
    _given_up_on_close: dict[int, set[str]] = field(default_factory=dict)  # id(ws) -> envelopes
    _new_call: asyncio.Event = field(default_factory=asyncio.Event)
    _last_ts: int = 0
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _socket_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _socket_change: asyncio.Event = field(default_factory=asyncio.Event)
    _round_robin: Any = field(default_factory=itertools.count)

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def accepted(self, method: str) -> list[dict[str, Any]]:
        """The calls of `method` that Slack carried out (even if their answer was lost)."""
        return [c.args for c in self.calls if c.method == method and c.result]

    async def wait_for(self, method: str, count: int = 1, seconds: float = 20) -> None:
        """Until `count` calls of `method` arrived (from another process, say)."""
        async with asyncio.timeout(seconds):
            while len(self.called(method)) < count:
                self._new_call.clear()
                await self._new_call.wait()

    async def wait_for_calls(self, count: int, seconds: float = 20) -> None:
        """Until `count` calls of any method arrived."""
        async with asyncio.timeout(seconds):
            while len(self.calls) < count:
                self._new_call.clear()
                await self._new_call.wait()

    def fail(
        self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.failures.setdefault(method, []).append((status, headers or {}, body))

    def limit_posts(self, burst: int = 4, per_second: float = 1.0) -> None:
        """Limit chat.postMessage per channel: `burst` at once, refilled at `per_second`
        (a bucket per channel, full at first). `burst` 0 lifts the limit."""
        self._post_limit = (burst, per_second) if burst > 0 else None
        self._buckets.clear()

    def storm(self, seconds: float, retry_after: int = 30) -> None:
        """Refuse every write (429) for `seconds` of `clock()` from now."""
        self.storm_until = self.clock() + seconds
        self.storm_retry_after = retry_after

    def drop(
        self, method: str, count: int = 1, after_effect: bool = True, channel: str = ""
    ) -> None:
        """Cut the next `count` calls of `method` (into `channel`, if given) without an
        answer: after they took effect (the post is in the channel, only the answer was
        lost) or before."""
        self._drops.setdefault(method, []).extend([(after_effect, channel)] * count)

    def next_ts(self) -> str:
        """Near the wall clock and increasing, as Slack's are (the outbox looks back in time
        from when it wrote a message)."""
        micros = max(time.time_ns() // 1000, self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # --- what was posted, as Slack keeps it -------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The top-level messages of `channel`, oldest first."""
        return self.store.messages(channel)

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The replies in the thread `thread_ts`, oldest first, without the parent."""
        return self.store.replies(channel, thread_ts)

    def posts_with_metadata(self, event_type: str) -> list[dict[str, Any]]:
        """Every kept message whose metadata has this event_type (with its "channel")."""
        return self.store.with_metadata(event_type)

    def shared_files(self, channel: str | None = None) -> list[Upload]:
        """The files shared by completed uploads (into `channel`, if given), oldest first:
        each with its name, content, channel, thread_ts and the comment it came with."""
        return self.files.shared(channel)

    # --- Web API ------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post())
        args.update(dict(request.query))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.latency > 0:
            await self.pause(self.latency)
        call = Call(method, args, token)
        self.calls.append(call)
        self._new_call.set()
        drops = self._drops.get(method, [])
        channel = args.get("channel") or args.get("channel_id")  # the latter: file shares
        chosen = [i for i, (_, where) in enumerate(drops) if where in ("", channel)]
        if chosen:
            call.dropped = True
            after_effect, _ = drops.pop(chosen[0])
            if after_effect:
                self._handle(call)
            else:
                call.status = 0
            return _cut(request)
        status, headers, body = self._handle(call)
        return web.json_response(body, status=status, headers=headers)

    def _handle(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        status = 200
        headers: dict[str, str] = {}
        if call.token in self.rejected_tokens:
            body: dict[str, Any] = {"ok": False, "error": "invalid_auth"}
        elif self.failures.get(call.method):
            status, headers, body = self.failures[call.method].pop(0)
        elif (wait := self._refusal(call)) is not None:
            status, headers = 429, {"Retry-After": str(wait)}
            body = {"ok": False, "error": "ratelimited"}
        else:
            body = {"ok": True, **self._answer(call.method, call.args)}
            if body["ok"]:
                call.result = body
        call.status = status
        if status == 429:
            self.refused.append(call)
        return status, headers, body

    def _refusal(self, call: Call) -> int | None:
        """Seconds to wait, when Slack would refuse this call for its rate."""
        now = self.clock()
        storm = self.storm_until is not None and now < self.storm_until
        if storm and call.method in STORM_METHODS:
            left = math.ceil(self.storm_until - now)  # type: ignore[operator]
            return max(1, min(self.storm_retry_after, left))
        if call.method == "chat.postMessage" and self._post_limit is not None:
            burst, per_second = self._post_limit
            channel = str(call.args.get("channel", ""))
            bucket = self._buckets.setdefault(channel, _Bucket(float(burst), now))
            elapsed = max(0.0, now - bucket.stamp)
            bucket.tokens, bucket.stamp = min(burst, bucket.tokens + elapsed * per_second), now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / per_second))
        return None

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "user_id": BOT_USER,
                "user": "supportbot",
                "team": "Acme",
                "team_id": TEAM,
                "bot_id": BOT_ID,
                "url": "https://acme.slack.com/",
            }
        if method == "chat.postMessage":
            channel = str(args["channel"])
            ts = self.next_ts()
            message = self.store.post(channel, ts, args)
            return {"channel": channel, "ts": ts, "message": message}
        if method == "chat.getPermalink":
            channel, ts = str(args["channel"]), str(args["message_ts"])
            return {"channel": channel, "permalink": f"{PERMALINK}{channel}/p{ts.replace('.', '')}"}
        if method == "chat.update":
            # a message the fake never saw posted is updated all the same, as tests invent ts
            self.store.update(str(args["channel"]), str(args["ts"]), args)
            return {"channel": args["channel"], "ts": args["ts"]}
        if method == "chat.postEphemeral":
            return {"message_ts": self.next_ts()}
        if method == "conversations.history":
            return self.store.history(args)
        if method == "conversations.replies":
            return self.store.thread(args)
        if method == "conversations.members":
            members = self.channel_members.get(str(args["channel"]), self.staff)
            return {"members": sorted(members), "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            users = self.usergroups.get(str(args.get("usergroup", "")), self.group)
            return {"users": sorted(users)}
        if method == "users.info":
            user = self.users.get(str(args["user"]), {})
            uid = str(args["user"])
            return {
                "user": {
                    "id": uid,
                    "name": uid.lower(),
                    "real_name": user.get("name", uid),
                    "profile": {"display_name": user.get("name", uid)},
                    "locale": user.get("locale", "en-US"),
                    # Slack's own default for a user who never chose one
                    "tz": user.get("tz", "America/Los_Angeles"),
                }
            }
        if method.startswith("views."):
            return self.views.answer(method, args)
        if method in ("users.conversations", "conversations.open"):
            return self.workspace.answer(method, args)
        if method == "files.getUploadURLExternal":
            return self.files.begin(args, self.base_url)
        if method == "files.completeUploadExternal":
            return self.files.complete(args, self.store, self.next_ts)
        if method == "apps.connections.open":
            return {"url": self.base_url.replace("http", "ws") + "socket"}
        return {}

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL: takes the file's bytes, and answers as Slack's does (text/plain)."""
        content = await request.read()
        if self.latency > 0:
            await self.pause(self.latency)
        if not self.files.receive(request.match_info["file_id"], content):
            return web.Response(status=404, text="Not Found")
        return web.Response(text=f"OK - {len(content)}")

    async def response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.json_response({"ok": True})

    # --- Socket Mode --------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": self.socket_count() + 1,
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._sockets.append(ws)
        self._socket_ready.set()
        self._socket_change.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    ack = json.loads(msg.data)
                    self.socket_acks.append(ack)
                    waiter = self._awaiting.pop(ack.get("envelope_id", ""), None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(ack)
        finally:
            self._sockets.remove(ws)
            for envelope_id in self._given_up_on_close.pop(id(ws), set()):
                waiter = self._awaiting.pop(envelope_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)  # no ack can come over a closed connection
            self._socket_change.set()
            if not self._sockets:
                self._socket_ready.clear()
        return ws

    def socket_count(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    async def wait_for_sockets(self, count: int = 1, seconds: float = 10) -> None:
        """Until exactly `count` Socket Mode connections are open."""
        async with asyncio.timeout(seconds):
            while self.socket_count() != count:
                self._socket_change.clear()
                await self._socket_change.wait()

    async def send_envelope(
        self,
        envelope: dict[str, Any],
        connection: int | None = None,
        timeout: float = 10,  # noqa: ASYNC109 - how long an ack may take, not a cancel scope
        give_up_on_close: bool = False,
    ) -> dict[str, Any] | None:
        """Push one envelope, on connection number `connection` or else round robin (as
        Slack spreads them over an app's connections), and wait for its acknowledgement:
        None if none came within `timeout` seconds. With `give_up_on_close`, also None as
        soon as that connection closes (or when it cannot be written to any more)."""
        await asyncio.wait_for(self._socket_ready.wait(), 10)
        sockets = [ws for ws in self._sockets if not ws.closed]
        if give_up_on_close and not sockets:
            return None
        if connection is None:
            socket = sockets[next(self._round_robin) % len(sockets)]
        else:
            socket = sockets[connection]
        envelope_id = envelope["envelope_id"]
        waiter: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._awaiting[envelope_id] = waiter
        if give_up_on_close:
            self._given_up_on_close.setdefault(id(socket), set()).add(envelope_id)
        try:
            await socket.send_json(envelope)
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        except ConnectionError:  # closing under us: the app will not see this one
            if not give_up_on_close:
                raise
            return None
        finally:
            if self._awaiting.get(envelope_id) is waiter:
                del self._awaiting[envelope_id]
            if give_up_on_close:
                self._given_up_on_close.get(id(socket), set()).discard(envelope_id)

    def envelopes_outstanding(self) -> list[int]:
        """Per open Socket Mode connection, the envelopes sent with `give_up_on_close` that
        it has not acknowledged yet."""
        return [
            len(self._given_up_on_close.get(id(ws), ())) for ws in self._sockets if not ws.closed
        ]

    async def close_sockets(self, reason: str | None = None) -> None:
        """Close every Socket Mode connection; with a `reason`, first send Slack's
        {"type": "disconnect"} message (e.g. "refresh_requested")."""
        for ws in list(self._sockets):
            if reason is not None and not ws.closed:
                await ws.send_json({"type": "disconnect", "reason": reason})
            await ws.close()


def dm_envelope(
    envelope_id: str, event_id: str, channel: str, user: str, text: str, ts: str, attempt: int = 0
) -> dict[str, Any]:
    """A Socket Mode envelope carrying a customer's DM, as Slack sends it (`attempt` > 0: a
    redelivery of an envelope that was not acknowledged in time)."""
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": attempt,
        "retry_reason": "timeout" if attempt else "",
        "payload": {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event_id": event_id,
            "event_time": int(float(ts)),
            "event": {
                "type": "message",
                "channel": channel,
                "channel_type": "im",
                "user": user,
                "text": text,
                "ts": ts,
                "event_ts": ts,
            },
        },
    }


def _cut(request: web.Request) -> web.StreamResponse:
    """Close the connection under the request, so that no answer ever reaches the client."""
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


@asynccontextmanager
async def running_fake_slack(**options: Any) -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(**options)
    app = web.Application(client_max_size=64 * 1024 * 1024)  # room for uploaded files
    app.router.add_post("/api/{method}", fake.api)
    app.router.add_get("/api/{method}", fake.api)
    app.router.add_post("/response/{id}", fake.response_url)
    app.router.add_post("/upload/{file_id}", fake.upload)
    app.router.add_get("/socket", fake.socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base_url = f"http://127.0.0.1:{port}/"
    try:
        yield fake
    finally:
        await fake.close_sockets()
        await runner.cleanup()
