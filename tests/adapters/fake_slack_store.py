"""What the fake Slack remembers of the messages posted to it, and how it reads them back
through conversations.history and conversations.replies, following Slack's documentation:

- a message posted with `thread_ts` is a reply; the parent then carries `reply_count`,
  `reply_users`, `latest_reply` and its own `thread_ts`;
- history lists top-level messages newest first (plus replies posted with
  `reply_broadcast`); replies lists the parent, then its replies oldest first;
- `metadata` ({"event_type", "event_payload"}) is kept, but read back only when the
  caller passes `include_all_metadata`;
- both methods page with `limit` and an opaque `cursor` (`response_metadata.next_cursor`,
  empty on the last page) and answer `has_more`.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal, InvalidOperation
from typing import Any

HISTORY_LIMIT = 100  # Slack's default page size for conversations.history
REPLIES_LIMIT = 1000  # … and for conversations.replies


def truthy(value: Any) -> bool:
    """Slack reads booleans from JSON, or from forms and query strings as 1/0/true/false."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def parse_json(value: Any) -> Any:
    """Form-encoded calls carry objects (blocks, metadata) as JSON strings."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        return json.loads(value)
    return value


def _stamp(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        return Decimal(0)


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _from_cursor(cursor: Any) -> Decimal | None:
    if not cursor:
        return None
    raw = base64.b64decode(str(cursor)).decode()
    return _stamp(raw.removeprefix("next_ts:"))


class MessageStore:
    def __init__(self, bot_user: str, bot_id: str, app_id: str, team: str) -> None:
        self._bot = {"user": bot_user, "bot_id": bot_id, "app_id": app_id, "team": team}
        self._channels: dict[str, list[dict[str, Any]]] = {}  # every message, oldest first

    # --- writing --------------------------------------------------------------------------

    def post(self, channel: str, ts: str, args: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", **self._bot, "ts": ts}
        message["text"] = args.get("text") or ""
        if args.get("blocks"):
            message["blocks"] = parse_json(args["blocks"])
        thread_ts = args.get("thread_ts")
        if thread_ts and str(thread_ts) != ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = self._parent_user(channel, str(thread_ts))
            if truthy(args.get("reply_broadcast")):
                message["subtype"] = "thread_broadcast"
        metadata = parse_json(args.get("metadata"))
        if isinstance(metadata, dict) and metadata.get("event_type"):
            message["metadata"] = {
                "event_type": str(metadata["event_type"]),
                "event_payload": metadata.get("event_payload") or {},
            }
        self._channels.setdefault(channel, []).append(message)
        return message

    def update(self, channel: str, ts: str, args: dict[str, Any]) -> dict[str, Any] | None:
        message = self.find(channel, ts)
        if message is None:
            return None
        if "text" in args:
            message["text"] = args["text"] or ""
        if args.get("blocks"):
            message["blocks"] = parse_json(args["blocks"])
        metadata = parse_json(args.get("metadata"))
        if isinstance(metadata, dict) and metadata.get("event_type"):
            message["metadata"] = metadata
        message["edited"] = {"user": self._bot["user"], "ts": ts}
        return message

    def find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._channels.get(channel, []) if m["ts"] == ts), None)

    def _parent_user(self, channel: str, thread_ts: str) -> str:
        parent = self.find(channel, thread_ts)
        return str(parent["user"]) if parent else self._bot["user"]

    # --- reading, for tests ---------------------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of `channel`, oldest first, as Slack shows them."""
        return [self._render(channel, m, True) for m in self._top_level(channel)]

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The replies in one thread, oldest first (without the parent)."""
        return [self._render(channel, m, True) for m in self._thread(channel, thread_ts)[1:]]

    def with_metadata(self, event_type: str) -> list[dict[str, Any]]:
        """Every message (any channel, in posting order) whose metadata has `event_type`."""
        found = [
            (m["ts"], channel, m)
            for channel, kept in self._channels.items()
            for m in kept
            if (m.get("metadata") or {}).get("event_type") == event_type
        ]
        found.sort(key=lambda item: _stamp(item[0]))
        return [{"channel": channel, **self._render(channel, m, True)} for _, channel, m in found]

    # --- the Web API methods --------------------------------------------------------------

    def history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        inclusive = truthy(args.get("inclusive"))
        latest = _stamp(args["latest"]) if args.get("latest") else None
        oldest = _stamp(args["oldest"]) if args.get("oldest") else None
        after = _from_cursor(args.get("cursor"))
        chosen = []
        for message in reversed(self._top_level(channel)):  # newest first
            ts = _stamp(message["ts"])
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                continue
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                continue
            if after is not None and ts > after:
                continue
            chosen.append(message)
        return self._page(channel, chosen, args, HISTORY_LIMIT)

    def thread(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        messages = self._thread(channel, ts)
        if not messages:
            return {"ok": False, "error": "thread_not_found"}
        parent, replies = messages[0], messages[1:]
        after = _from_cursor(args.get("cursor"))
        if after is not None:
            replies = [m for m in replies if _stamp(m["ts"]) >= after]
        answer = self._page(channel, replies, args, REPLIES_LIMIT)
        # the parent leads every page
        metadata = truthy(args.get("include_all_metadata"))
        answer["messages"].insert(0, self._render(channel, parent, metadata))
        return answer

    def _page(
        self, channel: str, chosen: list[dict[str, Any]], args: dict[str, Any], default: int
    ) -> dict[str, Any]:
        limit = max(1, int(args.get("limit") or default))
        page, rest = chosen[:limit], chosen[limit:]
        metadata = truthy(args.get("include_all_metadata"))
        return {
            "messages": [self._render(channel, m, metadata) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": _cursor(rest[0]["ts"]) if rest else ""},
        }

    # --- shapes ---------------------------------------------------------------------------

    def _top_level(self, channel: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self._channels.get(channel, [])
            if "thread_ts" not in m or m.get("subtype") == "thread_broadcast"
        ]

    def _thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        parent = self.find(channel, ts)
        if parent is None:
            return []
        kept = self._channels[channel]
        return [parent, *(m for m in kept if m.get("thread_ts") == ts and m is not parent)]

    def _render(self, channel: str, message: dict[str, Any], metadata: bool) -> dict[str, Any]:
        shown = {k: v for k, v in message.items() if metadata or k != "metadata"}
        replies = [m for m in self._channels.get(channel, []) if m.get("thread_ts") == shown["ts"]]
        if replies and "thread_ts" not in message:
            users = sorted({str(m["user"]) for m in replies})
            shown.update(
                thread_ts=shown["ts"],
                reply_count=len(replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=replies[-1]["ts"],
            )
        return shown
