"""A fake Slack on 127.0.0.1: the Web API methods the adapter uses (recording every call),
response URLs, and a Socket Mode WebSocket. Payload shapes follow Slack's documentation."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"
TEAM = "T0001"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str
    result: dict[str, Any] = field(default_factory=dict)


PERMALINK = "https://acme.slack.com/archives/"


@dataclass
class FakeSlack:
    staff: set[str] = field(default_factory=set)
    group: set[str] = field(default_factory=set)
    channel_members: dict[str, set[str]] = field(default_factory=dict)  # else: staff
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    failures: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = field(
        default_factory=dict
    )
    rejected_tokens: set[str] = field(default_factory=set)
    base_url: str = ""
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _awaiting: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _new_call: asyncio.Event = field(default_factory=asyncio.Event)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _socket: web.WebSocketResponse | None = None
    _socket_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, seconds: float = 20) -> None:
        """Until `count` calls of `method` arrived (from another process, say)."""
        async with asyncio.timeout(seconds):
            while len(self.called(method)) < count:
                self._new_call.clear()
                await self._new_call.wait()

    def fail(
        self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.failures.setdefault(method, []).append((status, headers or {}, body))

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    # --- Web API ------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post())
        args.update(dict(request.query))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        call = Call(method, args, token)
        self.calls.append(call)
        self._new_call.set()
        if token in self.rejected_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.failures.get(method):
            status, headers, body = self.failures[method].pop(0)
            return web.json_response(body, status=status, headers=headers)
        call.result = {"ok": True, **self._answer(method, args)}
        return web.json_response(call.result)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "user_id": BOT_USER,
                "user": "supportbot",
                "team": "Acme",
                "team_id": TEAM,
                "bot_id": "B0001",
                "url": "https://acme.slack.com/",
            }
        if method == "chat.postMessage":
            channel = str(args["channel"])
            ts = self.next_ts()
            return {"channel": channel, "ts": ts, "message": {"ts": ts, "text": args.get("text")}}
        if method == "chat.getPermalink":
            channel, ts = str(args["channel"]), str(args["message_ts"])
            return {"channel": channel, "permalink": f"{PERMALINK}{channel}/p{ts.replace('.', '')}"}
        if method == "chat.update":
            return {"channel": args["channel"], "ts": args["ts"]}
        if method == "chat.postEphemeral":
            return {"message_ts": self.next_ts()}
        if method == "conversations.members":
            members = self.channel_members.get(str(args["channel"]), self.staff)
            return {"members": sorted(members), "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            return {"users": sorted(self.group)}
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
                }
            }
        if method == "apps.connections.open":
            return {"url": self.base_url.replace("http", "ws") + "socket"}
        return {}

    async def response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.json_response({"ok": True})

    # --- Socket Mode --------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}
        )
        self._socket_ready.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                ack = json.loads(msg.data)
                self.socket_acks.append(ack)
                waiter = self._awaiting.pop(ack.get("envelope_id", ""), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        return ws

    async def send_envelope(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Push one envelope and wait for the app's acknowledgement of it."""
        await asyncio.wait_for(self._socket_ready.wait(), 10)
        assert self._socket is not None
        waiter = asyncio.get_running_loop().create_future()
        self._awaiting[envelope["envelope_id"]] = waiter
        await self._socket.send_json(envelope)
        return await asyncio.wait_for(waiter, 10)


@asynccontextmanager
async def running_fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/{method}", fake.api)
    app.router.add_get("/api/{method}", fake.api)
    app.router.add_post("/response/{id}", fake.response_url)
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
        if fake._socket is not None:
            await fake._socket.close()
        await runner.cleanup()
