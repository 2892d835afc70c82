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

Files (`FileStore`) go as with Slack's external uploads: files.getUploadURLExternal opens an
upload (a file id and a URL), the bytes are POSTed to that URL, and one
files.completeUploadExternal shares the files in a channel or thread as a message with the
initial comment as its text and the files on it. An upload completes once; an unknown file,
one whose bytes never came, or one already completed answers `file_not_found`.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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

    def share(
        self, channel: str, ts: str, thread_ts: str, comment: str, files: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The message a completed upload posts: the comment, with the files on it."""
        message = self.post(channel, ts, {"text": comment, "thread_ts": thread_ts})
        message["files"] = files
        message["upload"] = False
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


@dataclass
class Upload:
    """One file of an external upload, and (once completed) where it was shared."""

    id: str
    name: str
    length: int
    content: bytes | None = None  # None until the bytes are POSTed to the upload URL
    title: str = ""
    completed: bool = False
    channel: str = ""  # "" while it is private: completed without a channel, or not yet
    thread_ts: str = ""
    comment: str = ""
    ts: str = ""  # of the message that shared it

    @property
    def text(self) -> str:
        return (self.content or b"").decode()

    def shown(self) -> dict[str, Any]:
        """The file object, as Slack's answers and messages carry it (the main fields)."""
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": "text/html" if self.name.endswith(".html") else "text/plain",
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "text",
            "size": len(self.content or b""),
            "url_private": f"https://files.slack.com/files-pri/T0001-{self.id}/{self.name}",
        }


@dataclass
class FileStore:
    uploads: dict[str, Upload] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def begin(self, args: dict[str, Any], base_url: str) -> dict[str, Any]:
        """files.getUploadURLExternal: a file id, and where its bytes go."""
        name = str(args.get("filename") or "")
        length = str(args.get("length") or "")
        if not name or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):010d}"
        self.uploads[file_id] = Upload(file_id, name, int(length))
        return {"upload_url": f"{base_url}upload/{file_id}", "file_id": file_id}

    def receive(self, file_id: str, content: bytes) -> bool:
        """The bytes POSTed to an upload URL; False for a URL no upload gave."""
        upload = self.uploads.get(file_id)
        if upload is None or upload.completed:
            return False
        upload.content = content
        return True

    def complete(
        self, args: dict[str, Any], messages: MessageStore, next_ts: Callable[[], str]
    ) -> dict[str, Any]:
        """files.completeUploadExternal: the files shared as one message (the comment its
        text) in `channel_id`; without a channel they stay private, as in Slack."""
        files = parse_json(args.get("files"))
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        chosen: list[Upload] = []
        for entry in files:
            upload = self.uploads.get(str(entry.get("id", ""))) if isinstance(entry, dict) else None
            if upload is None or upload.completed or upload.content is None:
                return {"ok": False, "error": "file_not_found"}
            chosen.append(upload)
        for upload, entry in zip(chosen, files, strict=True):
            upload.completed = True
            upload.title = str(entry.get("title") or upload.name)
        channel = str(args.get("channel_id") or str(args.get("channels") or "").split(",")[0])
        if channel:
            ts, thread_ts = next_ts(), str(args.get("thread_ts") or "")
            comment = str(args.get("initial_comment") or "")
            for upload in chosen:
                upload.channel, upload.thread_ts, upload.ts = channel, thread_ts, ts
                upload.comment = comment
            messages.share(channel, ts, thread_ts, comment, [u.shown() for u in chosen])
        return {"files": [u.shown() for u in chosen]}

    def shared(self, channel: str | None = None) -> list[Upload]:
        """The files shared (in `channel`, if given), in the order they were shared."""
        found = [u for u in self.uploads.values() if u.channel and channel in (None, u.channel)]
        return sorted(found, key=lambda u: _stamp(u.ts))
