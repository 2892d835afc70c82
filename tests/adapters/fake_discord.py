"""A fake Discord on 127.0.0.1: REST (recording every call) and a gateway that speaks HELLO,
IDENTIFY, READY, GUILD_CREATE, heartbeats, dispatches, RESUME and INVALID_SESSION. discord.py
parses REST bodies only when the Content-Type is exactly application/json, as Discord sends it.

It keeps each channel's messages (Get Channel Messages with around/before/after/limit, newest
first) and honours `nonce` + `enforce_nonce` on Create Message. Opt in to Discord under load:
`latency`, `limit_route` (429 with Retry-After and X-RateLimit headers), `drop` (a call cut off
with no answer, before or after it took effect), `fail` (any status), `restart` (the session is
lost: RESUME is refused and the bot must IDENTIFY anew, missing what came meanwhile). Get
Channel and Get Guild Member answer for the threads, DMs and members it knows; opt in to
`rest_history` (history without the gateway-only guild_id and member) and
`threads_in_guild_create` (active threads listed on connect), as Discord does. Forum tags
keep Discord's limits (see fake_discord_forum), and so do the forms and select menus an
interaction is answered with (see fake_discord_components, which also builds the server's other
text channels, `guild_channels`, with what the bot may do in them)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.fake_discord_components import callback_refusal
from tests.adapters.fake_discord_files import Upload
from tests.adapters.fake_discord_forum import applied_tags_refusal, new_forum_tags
from tests.adapters.fake_discord_store import Call as Call  # where the tests import it from
from tests.adapters.fake_discord_store import RestSide, json_response

BOT, APP, GUILD, FORUM, STAFF_ROLE = 1000, 1000, 2000, 3000, 4000
TEXT = 3100  # a text channel, for desks that keep tickets as threads there
LEADS = 3300  # a text channel for the leads' digest and alerts
BOT_ROLE = 4100
STAMP = "2026-01-05T09:00:00+00:00"


def user(uid: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(uid),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def member(uid: int, name: str, roles: list[int]) -> dict[str, Any]:
    return {
        "user": user(uid, name),
        "roles": [str(r) for r in roles],
        "joined_at": STAMP,
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


@dataclass
class FakeDiscord(RestSide):
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    starters: dict[str, str] = field(default_factory=dict)  # forum post -> its first message
    synced: list[dict[str, Any]] = field(default_factory=list)  # app commands, as last synced
    forum_tags: list[dict[str, Any]] = field(default_factory=list)
    reject_intents: bool = False  # close the gateway with 4014, as for a missing intent
    bot_permissions: int = sum(1 << bit for bit in (4, 6, 10, 11, 14, 16, 34, 35, 38))
    history: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for RESUME
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    identified: asyncio.Event = field(default_factory=asyncio.Event)  # READY sent
    identifies: int = 0
    # IDENTIFYs per gateway connection, in the order the connections came; open ones
    connections: list[int] = field(default_factory=list)
    open_connections: int = 0
    invalid_sessions: int = 0  # RESUMEs refused with op 9
    session: int = 1  # goes up with each restart()
    base_url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(900000))
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(3))
    _ws: web.WebSocketResponse | None = None
    _replay_after: int = 0  # RESUME replays only what came after this session's IDENTIFY
    _interaction_channels: dict[str, str] = field(default_factory=dict)  # token -> channel
    # opt-in realism for catch-up tests: Get Channel Messages without the gateway-only
    # guild_id and member (discord-api-docs: MESSAGE_CREATE extra fields), and GUILD_CREATE
    # listing the guild's active threads, as Discord does
    rest_history: bool = False
    threads_in_guild_create: bool = False
    guild_channels: list[dict[str, Any]] = field(default_factory=list)  # more, in GUILD_CREATE
    guild_roles: dict[int, str] = field(default_factory=dict)  # more roles (id -> name), too

    def next_id(self) -> int:
        return next(self._ids)

    def _answer(
        self,
        method: str,
        path: str,
        body: Any,
        query: Mapping[str, str] | None = None,
        files: Sequence[Upload] = (),
    ) -> web.Response:
        if path.endswith("/messages") and method == "GET":
            page = self.store.page(path.split("/")[1], dict(query or {}))
            if self.rest_history and isinstance(page, list):
                gateway_only = ("guild_id", "member")
                page = [{k: v for k, v in m.items() if k not in gateway_only} for m in page]
            return json_response(page, 400 if isinstance(page, dict) else 200)
        if method == "GET" and path.startswith("channels/") and path.count("/") == 1:
            return self._get_channel(path.split("/")[1])
        if method == "GET" and path.startswith(f"guilds/{GUILD}/members/"):
            found = self.members.get(path.rsplit("/", 1)[1])  # Get Guild Member
            if found is None:
                return json_response({"message": "Unknown Member", "code": 10007}, 404)
            return json_response(found)
        if path == "users/@me":
            return json_response(user(BOT, "supportbot", bot=True))
        if path == "oauth2/applications/@me":
            return json_response(
                {
                    "id": str(APP),
                    "name": "supportbot",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user(1, "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "summary": "",
                }
            )
        if path.endswith("/threads") and method == "POST" and "/messages/" in path:
            # a thread started on a message takes the message's id, as on Discord
            parts = path.split("/")
            return json_response(self._thread(parts[3], parts[1], body))
        if path.endswith("/threads") and method == "POST":
            if refused := applied_tags_refusal(body.get("applied_tags", []), self.forum_tags):
                return json_response(refused, 400)
            thread_id = str(self.next_id())
            starter = self._keep(self._message(thread_id, body.get("message", {}), BOT))
            self.starters[thread_id] = starter["id"]
            post = self._thread(thread_id, str(FORUM), body)
            return json_response(post | {"message": starter})
        if path.endswith("/messages") and method == "POST":
            return self._create_message(path.split("/")[1], body, BOT, files)
        if "/messages/" in path and method == "PATCH":
            parts = path.split("/")
            message = self._message(parts[1], body, BOT)
            message["id"] = parts[3]
            stored = self.store.get(parts[1], parts[3])
            if stored is not None:  # an edit changes what Get Channel Messages shows
                stored |= {k: v for k, v in body.items() if k in ("content", "embeds")}
                stored["edited_timestamp"] = STAMP
            return json_response(message)
        if method == "PATCH" and path == f"channels/{FORUM}":
            tags = new_forum_tags(body.get("available_tags", self.forum_tags), self.next_id)
            if isinstance(tags, dict):
                return json_response(tags, 400)
            self.forum_tags = tags
            # as Discord does, the change also comes as an event to every connected bot
            asyncio.get_running_loop().create_task(self.dispatch("CHANNEL_UPDATE", self._forum()))
            return json_response(self._forum())
        if method == "PATCH" and path.startswith("channels/") and path.count("/") == 1:
            thread = self.threads[path.split("/")[1]]
            if "applied_tags" in body:
                if refused := applied_tags_refusal(body["applied_tags"], self.forum_tags):
                    return json_response(refused, 400)
                thread["applied_tags"] = body["applied_tags"]
            if "archived" in body:
                thread["thread_metadata"]["archived"] = body["archived"]
            return json_response(thread)
        if method == "POST" and path == "users/@me/channels":
            recipient = int(body["recipient_id"])  # one DM channel per user, as on Discord
            dm_channel = self.dm_channels.setdefault(str(recipient), str(self.next_id()))
            return json_response(
                {"id": dm_channel, "type": 1, "recipients": [user(recipient, f"user{recipient}")]}
            )
        if path.endswith("/commands") and method == "PUT":
            self.synced = body if isinstance(body, list) else []
            return json_response([])
        if path.startswith("webhooks/") and method == "POST":  # an interaction's follow-up
            token = path.split("/")[2]
            message = self._message(self._interaction_channels.get(token, token), body, BOT)
            if not body.get("flags", 0) & 64:  # an ephemeral message is in no channel
                self._keep(message)
            return json_response(message)
        if path.startswith("interactions/") and path.endswith("/callback"):
            if (refused := callback_refusal(body)) is not None:
                return json_response(refused, 400)
            interaction = path.split("/")[1]
            channel = self._interaction_channels.get(path.split("/")[2])
            data = body.get("data") or {}
            if body.get("type") == 4 and channel and not data.get("flags", 0) & 64:
                self._keep(self._message(channel, data, BOT))
            return json_response(
                {
                    "interaction": {"id": interaction, "type": 3},
                    "resource": {"type": body.get("type", 4)},
                }
            )
        if "/reactions/" in path:
            return web.Response(status=204)
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def _thread(self, thread: str, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = {
            "id": thread,
            "guild_id": str(GUILD),
            "parent_id": parent,
            "owner_id": str(BOT),
            "name": body.get("name", ""),
            "type": 11,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": list(body.get("applied_tags", [])),
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 10080,
                "archive_timestamp": STAMP,
                "locked": False,
            },
        }
        self.threads[thread] = channel
        # as Discord does, the bot also hears about the new thread on the gateway
        asyncio.get_running_loop().create_task(
            self.dispatch("THREAD_CREATE", channel | {"newly_created": True})
        )
        return channel

    def _get_channel(self, channel: str) -> web.Response:
        """Get Channel: a ticket's thread, the forum, or a user's DM channel."""
        if channel in self.threads:
            return json_response(self.threads[channel])
        if channel == str(FORUM):
            return json_response(self._forum())
        for uid, dm in self.dm_channels.items():
            if dm == channel:
                recipient = user(int(uid), f"user{uid}")
                return json_response({"id": dm, "type": 1, "recipients": [recipient]})
        return json_response({"message": "Unknown Channel", "code": 10003}, 404)

    def _forum(self) -> dict[str, Any]:
        return {
            "id": str(FORUM),
            "type": 15,
            "name": "tickets",
            "position": 0,
            "permission_overwrites": [],
            "available_tags": self.forum_tags,
            "guild_id": str(GUILD),
        }

    def _message(self, channel: str, body: dict[str, Any], author: int) -> dict[str, Any]:
        return {
            "id": str(self.next_id()),
            "channel_id": channel,
            "author": user(author, "supportbot", bot=True),
            "content": body.get("content", ""),
            "timestamp": STAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds", []),
            "pinned": False,
            "type": 0,
            "flags": 0,
        }

    # --- gateway ------------------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        connection = len(self.connections)
        self.connections.append(0)
        self.open_connections += 1
        try:
            await self._converse(ws, request, connection)
        finally:
            self.open_connections -= 1
        return ws

    async def _converse(
        self, ws: web.WebSocketResponse, request: web.Request, connection: int
    ) -> None:
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["op"] == 2 and self.reject_intents:
                await ws.close(code=4014, message=b"Disallowed intent(s).")
            elif data["op"] == 2:  # a new session: nothing from before it is replayed
                self.identifies += 1
                self.connections[connection] += 1
                self._replay_after = self.history[-1]["s"] if self.history else 0
                await self._ready(ws, str(request.url.with_path("/gateway/")))
                self.identified.set()
            elif data["op"] == 6 and data["d"].get("session_id") != self.session_id:
                self.invalid_sessions += 1  # not resumable: the bot must IDENTIFY again
                await ws.send_json({"op": 9, "d": False})
            elif data["op"] == 6:  # RESUME: replay what the bot missed, then RESUMED
                since = max(data["d"].get("seq") or 0, self._replay_after)
                for payload in self.history:
                    if payload["s"] > since:
                        await ws.send_json(payload)
                await ws.send_json({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}})
                self.resumed.set()
            elif data["op"] == 1:
                await ws.send_json({"op": 11})

    async def _ready(self, ws: web.WebSocketResponse, resume_url: str) -> None:
        await ws.send_json(
            {
                "op": 0,
                "t": "READY",
                "s": 1,
                "d": {
                    "v": 10,
                    "user": user(BOT, "supportbot", bot=True),
                    "session_id": self.session_id,
                    "guilds": [{"id": str(GUILD), "unavailable": True}],
                    "resume_gateway_url": resume_url,
                    "application": {"id": str(APP), "flags": 0},
                },
            }
        )
        everyone = {
            "id": str(GUILD),
            "name": "@everyone",
            "permissions": "0",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
        }
        staff = everyone | {"id": str(STAFF_ROLE), "name": "Support", "position": 1}
        bot = everyone | {
            "id": str(BOT_ROLE),
            "name": "supportbot",
            "position": 2,
            "permissions": str(self.bot_permissions),
            "managed": True,
        }
        # the bot's own member says it is a bot, as Discord's does
        bot_member = member(BOT, "supportbot", [BOT_ROLE]) | {"user": user(BOT, "supportbot", True)}
        await ws.send_json(
            {
                "op": 0,
                "t": "GUILD_CREATE",
                "s": 2,
                "d": {
                    "id": str(GUILD),
                    "name": "Acme Community",
                    "icon": None,
                    "owner_id": "1",
                    "roles": [everyone, staff, bot]
                    + [
                        everyone | {"id": str(role), "name": name, "position": 1}
                        for role, name in self.guild_roles.items()
                    ],
                    "member_count": 3,
                    "large": False,
                    "unavailable": False,
                    "channels": [
                        self._forum(),
                        {
                            "id": str(TEXT),
                            "type": 0,
                            "name": "support-staff",
                            "position": 1,
                            "permission_overwrites": [],
                            "nsfw": False,
                            "guild_id": str(GUILD),
                        },
                        {
                            "id": str(LEADS),
                            "type": 0,
                            "name": "support-leads",
                            "position": 2,
                            "permission_overwrites": [],
                            "nsfw": False,
                            "guild_id": str(GUILD),
                        },
                        *self.guild_channels,
                    ],
                    "members": [bot_member],
                    "threads": [
                        t
                        for t in self.threads.values()
                        if self.threads_in_guild_create and not t["thread_metadata"]["archived"]
                    ],
                    "features": [],
                    "emojis": [],
                    "stickers": [],
                    "voice_states": [],
                    "presences": [],
                    "stage_instances": [],
                    "guild_scheduled_events": [],
                    "premium_tier": 0,
                    "verification_level": 0,
                    "default_message_notifications": 0,
                    "explicit_content_filter": 0,
                    "mfa_level": 0,
                    "nsfw_level": 0,
                    "preferred_locale": "en-US",
                    "system_channel_flags": 0,
                    "afk_timeout": 300,
                    "joined_at": STAMP,
                },
            }
        )

    def message_event(
        self,
        author: int,
        name: str,
        content: str,
        channel: int,
        roles: list[int] | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload: a DM, or (with roles) a message in the server."""
        data: dict[str, Any] = self._message(str(channel), {"content": content}, author)
        data["author"] = user(author, name)
        if message_id is not None:
            data["id"] = str(message_id)
        if roles is not None:
            data |= {
                "guild_id": str(GUILD),
                "member": {
                    "roles": [str(r) for r in roles],
                    "joined_at": STAMP,
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                },
            }
        return data

    @property
    def session_id(self) -> str:
        return f"session-{self.session}"

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event; while the bot is away it waits, and a RESUME replays it. A message
        also goes into its channel's history."""
        if event == "MESSAGE_CREATE":
            self._keep(data)
        payload = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        self.history.append(payload)
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_json(payload)

    async def drop_connection(self) -> None:
        """Close the gateway as Discord does now and then (4000: reconnect and resume)."""
        assert self._ws is not None
        ws, self._ws = self._ws, None
        self.resumed.clear()
        await ws.close(code=4000, message=b"Unknown error")

    async def restart(self) -> None:
        """Discord loses the bot's session, as when its gateway restarts: the connection (if
        any) closes with 4000, the RESUME that follows gets INVALID_SESSION (op 9, d=false),
        and the bot IDENTIFYs anew; events dispatched meanwhile are never replayed to it."""
        self.session += 1
        self.resumed.clear()
        self.identified.clear()
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            await ws.close(code=4000, message=b"Unknown error")

    async def interact(
        self,
        kind: int,
        data: dict[str, Any],
        who: int,
        name: str,
        channel: int,
        roles: list[int] | None = None,
        locale: str = "en-US",
    ) -> str:
        """An INTERACTION_CREATE as Discord sends it: 3 a component (a button press, or a pick
        in a select menu: component_type 3 and its values), 5 a form submitted.
        Returns the interaction id; its answer is the callback call that ends with it."""
        interaction = str(self.next_id())
        payload: dict[str, Any] = {
            "id": interaction,
            "application_id": str(APP),
            "type": kind,
            "token": f"token-{interaction}",
            "version": 1,
            "attachment_size_limit": 10485760,
            "locale": locale,
            "app_permissions": "0",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "data": data,
            "channel_id": str(channel),
            "channel": {"id": str(channel), "type": 1},
        }
        if roles is None:
            payload["user"] = user(who, name)
        else:
            payload |= {
                "guild_id": str(GUILD),
                "guild_locale": "en-US",
                "member": member(who, name, roles) | {"permissions": "0"},
                # in a ticket's forum post Discord sends the whole thread; else a text channel
                "channel": self.threads.get(str(channel))
                or {
                    "id": str(channel),
                    "type": 0,
                    "guild_id": str(GUILD),
                    "name": "general",
                    "position": 1,
                    "permission_overwrites": [],
                    "nsfw": False,
                },
            }
        if kind == 3:
            payload["message"] = self._message(str(channel), {}, BOT)
        self._interaction_channels[f"token-{interaction}"] = str(channel)
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def answer(self, interaction: str) -> dict[str, Any]:
        calls = [
            c
            for c in self.calls
            if c.path == f"interactions/{interaction}/token-{interaction}/callback"
        ]
        assert calls, f"interaction {interaction} got no answer"
        return dict(calls[-1].body)


def bot_env(fake: FakeDiscord) -> dict[str, str]:
    """The DISCORD_* variables that point a `supportbot run` at this fake's server."""
    return {
        "DISCORD_BOT_TOKEN": "fake-token",
        "DISCORD_GUILD_ID": str(GUILD),
        "DISCORD_STAFF_CHANNEL": str(FORUM),
        "DISCORD_STAFF_ROLE": str(STAFF_ROLE),
        "DISCORD_API_URL": fake.base_url + "/api/v10",
        "DISCORD_GATEWAY_URL": fake.base_url.replace("http", "ws") + "/gateway/",
    }


@asynccontextmanager
async def running_fake_discord(**options: Any) -> AsyncIterator[FakeDiscord]:
    """The fake on a free port; options are FakeDiscord's fields (clock, latency, ...)."""
    fake = FakeDiscord(**options)
    # room for a message's files (aiohttp's default refuses bodies over 1 MiB); the fake's own
    # limits, Discord's, decide what is accepted
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/api/v10/{tail:.*}", fake.rest)
    app.router.add_get("/gateway/", fake.gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        if fake._ws is not None:
            await fake._ws.close()
        await runner.cleanup()
