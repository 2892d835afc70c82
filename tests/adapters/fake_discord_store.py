"""The fake Discord's REST side before its answers: every call recorded, then (opt-in) added
latency, calls cut off, queued failures and per-route rate limits; and what Discord remembers
between calls: each channel's messages (Get Channel Messages, the nonce check of Create
Message). Times come from the fake's injectable clock.

Facts followed (discord-api-docs): Get Channel Messages takes one of around/before/after and a
limit of 1-100 (default 50) and returns the messages newest first, also with `after`; with
`enforce_nonce` a nonce seen from the same author in "the past few minutes" (no exact figure is
documented: `nonce_window`, 120 s by default) returns that message instead of a new one - the
docs name no channel, the fake checks per channel; a nonce is at most 25 characters; a 429
carries Retry-After (whole seconds) and a body {"message", "retry_after", "global"}, with
X-RateLimit-Scope only on 429s. Files a message carries: see fake_discord_files."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.adapters.fake_discord_files import UPLOAD_LIMIT, Upload, read_files, refusal

NONCE_MAX = 25  # characters


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def invalid_form(name: str, code: str, message: str) -> dict[str, Any]:
    """Discord's 400 for a field it refuses (50035 Invalid Form Body)."""
    return {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {name: {"_errors": [{"code": code, "message": message}]}},
    }


@dataclass
class Stored:
    message: dict[str, Any]
    at: float  # the fake's clock when it was created


@dataclass
class ChannelStore:
    """Every channel's messages by numeric id, and the nonces they were created with."""

    channels: dict[str, dict[int, Stored]] = field(default_factory=dict)
    nonces: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, message: dict[str, Any], now: float) -> dict[str, Any]:
        """Store a message; one already stored under its id (a redelivery) stays as it was."""
        kept = self.channels.setdefault(str(message["channel_id"]), {})
        return kept.setdefault(int(message["id"]), Stored(message, now)).message

    def get(self, channel: str, message_id: str) -> dict[str, Any] | None:
        stored = self.channels.get(channel, {}).get(int(message_id))
        return stored.message if stored else None

    def remember_nonce(self, message: dict[str, Any], nonce: str) -> None:
        key = (str(message["channel_id"]), message["author"]["id"], nonce)
        self.nonces[key] = int(message["id"])

    def by_nonce(
        self, channel: str, author: str, nonce: str, now: float, window: float
    ) -> dict[str, Any] | None:
        """The message this author created here with this nonce within the window, if any.
        Discord returns it even when it was deleted since (discord-api-docs PR #6647); the
        fake deletes nothing, so it is always still stored."""
        found = self.nonces.get((channel, author, nonce))
        stored = self.channels.get(channel, {}).get(found) if found is not None else None
        if stored is None or now - stored.at > window:
            return None
        return stored.message

    def messages(self, channel: str | int) -> list[dict[str, Any]]:
        """The channel's messages, oldest first."""
        kept = self.channels.get(str(channel), {})
        return [kept[i].message for i in sorted(kept)]

    def count(self, channel: str | int) -> int:
        return len(self.channels.get(str(channel), {}))

    def doubles(self, channel: str | int, key: str = "content") -> list[Any]:
        """Values of `key` that more than one stored message carries: what a retry that was
        not deduplicated leaves behind."""
        seen = Counter(str(m.get(key)) for m in self.messages(channel))
        return [value for value, n in seen.items() if n > 1]

    def page(self, channel: str, query: dict[str, str]) -> list[dict[str, Any]] | dict[str, Any]:
        """Get Channel Messages: the list (newest first), or the 400 body for a bad query."""
        try:
            limit = int(query.get("limit", 50))
            anchors = {k: int(query[k]) for k in ("around", "before", "after") if k in query}
        except ValueError:
            return invalid_form("limit", "NUMBER_TYPE_COERCE", "Value is not int.")
        if not 1 <= limit <= 100:
            return invalid_form("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
        ids = sorted(self.channels.get(channel, {}))
        # the docs make them exclusive; given together, the fake honours the first of these
        if "around" in anchors:
            older = [i for i in ids if i < anchors["around"]]
            older = older[max(len(older) - limit // 2, 0) :]
            chosen = older + [i for i in ids if i >= anchors["around"]][: limit - len(older)]
        elif "before" in anchors:
            chosen = [i for i in ids if i < anchors["before"]][-limit:]
        elif "after" in anchors:
            chosen = [i for i in ids if i > anchors["after"]][:limit]
        else:
            chosen = ids[-limit:]
        kept = self.channels.get(channel, {})
        return [kept[i].message for i in reversed(chosen)]


@dataclass
class Bucket:
    """A per-route limit: `per_window` calls, then 429 until the window (from its first call)
    has passed."""

    path_end: str
    per_window: int
    window: float
    method: str | None = None
    name: str = ""
    started: float | None = None
    used: int = 0
    refused: int = 0

    def matches(self, method: str, path: str) -> bool:
        return path.endswith(self.path_end) and self.method in (None, method)

    def take(self, now: float) -> tuple[bool, dict[str, str]]:
        """Count one call: whether it may go through, and the X-RateLimit headers to send."""
        if self.started is None or now - self.started >= self.window:
            self.started, self.used = now, 0
        allowed = self.used < self.per_window
        if allowed:
            self.used += 1
        else:
            self.refused += 1
        reset_after = max(self.started + self.window - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(self.per_window),
            "X-RateLimit-Remaining": str(self.per_window - self.used),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.name,
        }
        if not allowed:
            headers |= {
                "Retry-After": str(math.ceil(reset_after)),
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",  # discord.py takes a 429 without it for a Cloudflare ban
            }
        return allowed, headers

    def refusal(self, headers: dict[str, str]) -> dict[str, Any]:
        return {
            "message": "You are being rate limited.",
            "retry_after": float(headers["X-RateLimit-Reset-After"]),
            "global": False,
        }


@dataclass
class Cut:
    """The next `count` calls to a route end without an HTTP answer."""

    path_end: str
    count: int
    after_effect: bool
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and path.endswith(self.path_end) and self.method in (None, method)


@dataclass
class Call:
    method: str
    path: str
    body: Any  # the JSON sent; for a request with files, its payload_json
    files: list[Upload] = field(default_factory=list)


@dataclass
class RestSide:
    """Recording and conditions around the answers, which a subclass gives in `_answer`."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic  # the nonce window and rate limits run on it
    latency: float = 0.0  # seconds before each REST answer
    store: ChannelStore = field(default_factory=ChannelStore)
    buckets: list[Bucket] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)
    dropped: int = 0  # calls cut off without an answer
    nonce_window: float = 120.0  # Discord: "the past few minutes"
    dm_channels: dict[str, str] = field(default_factory=dict)  # user -> their DM channel
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> guild member
    upload_limit: int = UPLOAD_LIMIT
    uploads: list[Upload] = field(default_factory=list)  # files attached to kept messages
    _new_call: asyncio.Event = field(default_factory=asyncio.Event)

    # given by the fake itself: its answers, and the message objects it builds
    def _answer(
        self,
        method: str,
        path: str,
        body: Any,
        query: Mapping[str, str] | None = None,
        files: Sequence[Upload] = (),
    ) -> web.Response:
        raise NotImplementedError

    def next_id(self) -> int:
        raise NotImplementedError

    def _message(self, channel: str, body: dict[str, Any], author: int) -> dict[str, Any]:
        raise NotImplementedError

    def message_event(
        self, author: int, name: str, content: str, channel: int, roles: list[int] | None = None
    ) -> dict[str, Any]:
        raise NotImplementedError

    def called(self, method: str, path_end: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(path_end)]

    def fail(self, path_end: str, status: int, body: dict[str, Any]) -> None:
        """The next call whose path ends so is answered with this status and body."""
        self.failures.setdefault(path_end, []).append((status, body))

    def limit_route(
        self, path_end: str, per_window: int, window: float, method: str | None = None
    ) -> Bucket:
        """A rate limit on the calls whose path ends so: `per_window` calls per `window`
        seconds of `clock`, then 429s. Its answers carry Discord's X-RateLimit headers."""
        bucket = Bucket(path_end, per_window, window, method, name=f"fake{len(self.buckets)}")
        self.buckets.append(bucket)
        return bucket

    def refused(self, path_end: str = "") -> int:
        """How many calls the rate limits refused (those of routes ending so)."""
        return sum(b.refused for b in self.buckets if b.path_end.endswith(path_end))

    def drop(
        self, path_end: str, count: int = 1, after_effect: bool = True, method: str | None = None
    ) -> None:
        """Cut the next `count` calls whose path ends so without an HTTP answer. With
        after_effect the call took effect first (a message is stored): only the answer is lost."""
        self.cuts.append(Cut(path_end, count, after_effect, method))

    async def rest(self, request: web.Request) -> web.Response:
        path, method = request.match_info["tail"], request.method
        body: Any = None
        payload: Any = None
        files: list[Upload] = []
        if request.content_type.startswith("multipart"):  # files: the JSON is a form field
            form = await request.post()
            body = payload = json.loads(str(form.get("payload_json", "{}")))
            files = read_files(form, payload)
        elif request.body_exists:
            body = payload = await request.json()
        self.calls.append(Call(method, path, body, files))
        self._new_call.set()
        cut = next((c for c in self.cuts if c.matches(method, path)), None)
        if cut is not None:
            cut.count -= 1
        response = web.Response()  # never sent when the call is cut off
        if cut is None or cut.after_effect:
            response = self._respond(method, path, payload or {}, request.query, files)
        if self.latency:
            await asyncio.sleep(self.latency)
        if cut is not None:  # the connection breaks: no status line, no body
            self.dropped += 1
            assert request.transport is not None
            request.transport.close()
        return response

    def _respond(
        self,
        method: str,
        path: str,
        body: Any,
        query: Mapping[str, str],
        files: Sequence[Upload] = (),
    ) -> web.Response:
        for ending, queued in self.failures.items():
            if path.endswith(ending) and queued:
                status, error = queued.pop(0)
                response = json_response(error, status)
                if status == 429:  # Discord's own rate limits come through its proxy
                    response.headers["Via"] = "1.1 google"
                return response
        bucket = next((b for b in self.buckets if b.matches(method, path)), None)
        if bucket is None:
            return self._answer(method, path, body, query, files)
        allowed, headers = bucket.take(self.clock())
        if not allowed:
            return json_response(bucket.refusal(headers), 429, headers)
        response = self._answer(method, path, body, query, files)
        response.headers.update(headers)
        return response

    def _create_message(
        self, channel: str, body: dict[str, Any], author: int, files: Sequence[Upload] = ()
    ) -> web.Response:
        """Create Message: with `nonce` and `enforce_nonce`, the author's message created here
        with that nonce within `nonce_window` comes back instead of a second one."""
        if (refused := refusal(files, self.upload_limit)) is not None:
            return json_response(refused[1], refused[0])
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > NONCE_MAX:
            why = "Must be 25 or fewer characters long."
            return json_response(invalid_form("nonce", "NONCE_TYPE_TOO_LONG", why), 400)
        if nonce is not None and body.get("enforce_nonce"):
            found = self.store.by_nonce(
                channel, str(author), str(nonce), self.clock(), self.nonce_window
            )
            if found is not None:
                return json_response(found)
        message = self._message(channel, body, author)
        message["attachments"] = [f.attached(message, self.next_id()) for f in files]
        self.uploads.extend(files)
        if nonce is not None:
            message["nonce"] = nonce  # Discord echoes it, here and in MESSAGE_CREATE
            self.store.remember_nonce(message, str(nonce))
        return json_response(self._keep(message))

    def files_in(self, channel: int | str) -> list[Upload]:
        """The files attached to messages kept in `channel`, in the order they came."""
        return [u for u in self.uploads if u.channel == str(channel)]

    def _keep(self, message: dict[str, Any]) -> dict[str, Any]:
        """Into its channel's history; a user's DM also tells which channel is their DM."""
        if "guild_id" not in message and not message["author"].get("bot"):
            self.dm_channels.setdefault(message["author"]["id"], str(message["channel_id"]))
        if "member" in message:  # whoever wrote in the server is a member Discord can show
            self.members[message["author"]["id"]] = message["member"] | {"user": message["author"]}
        return self.store.add(message, self.clock())

    def post_while_away(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        guild: bool = False,
        name: str = "",
        roles: list[int] | None = None,
    ) -> dict[str, Any]:
        """A user's message that reached Discord while the bot was not connected: it is in the
        channel's history (for catch-up) but no MESSAGE_CREATE is sent or kept for RESUME."""
        if guild and roles is None:
            roles = []
        data = self.message_event(
            author_id, name or f"user{author_id}", content, channel_id, roles if guild else None
        )
        return self._keep(data)

    def messages(self, channel: int | str) -> list[dict[str, Any]]:
        """The channel's history as Discord keeps it, oldest first."""
        return self.store.messages(channel)

    def message_count(self, channel: int | str) -> int:
        """How many distinct messages (by id) the channel holds."""
        return self.store.count(channel)

    def doubles(self, channel: int | str, key: str = "content") -> list[Any]:
        """Values of `key` (content by default) that more than one message here carries."""
        return self.store.doubles(channel, key)

    async def wait_for(
        self, method: str, path_end: str, count: int = 1, seconds: float = 10
    ) -> None:
        async with asyncio.timeout(seconds):
            while len(self.called(method, path_end)) < count:
                self._new_call.clear()
                await self._new_call.wait()
