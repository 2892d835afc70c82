"""Which conversations the fake Slack's bot is in, and its DMs. Facts followed (Slack docs:
users.conversations, conversations.open, the conversation object):

- users.conversations lists the channels the calling user (the bot) is a member of, of the
  `types` asked (public_channel by default; mpim and im are not channels), leaving archived
  ones out with `exclude_archived`; it pages with `limit` (default 100) and an opaque
  `cursor` (`response_metadata.next_cursor`, empty on the last page);
- a Slack Connect channel carries `is_ext_shared`; a private one `is_private`;
- conversations.open with one user in `users` answers that user's DM with the bot (the same
  channel every time), `already_open` once it was."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

LIMIT = 100


@dataclass
class Workspace:
    # channel id -> the conversation object's fields (is_private, is_ext_shared, is_archived)
    bot_channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    dms: dict[str, str] = field(default_factory=dict)  # user -> their DM with the bot

    def invite(
        self, channel: str, *, private: bool = False, shared: bool = False, archived: bool = False
    ) -> None:
        """The bot is added to `channel` (`shared`: a Slack Connect channel)."""
        self.bot_channels[channel] = {
            "is_private": private,
            "is_ext_shared": shared,
            "is_archived": archived,
        }

    def remove(self, channel: str) -> None:
        self.bot_channels.pop(channel, None)

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "users.conversations":
            return self._memberships(args)
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if len(users) != 1:  # a group DM is more than the adapter ever opens
            return {"ok": False, "error": "invalid_arguments"}
        user = users[0]
        opened = user in self.dms
        channel = self.dms.setdefault(user, f"D{user[1:]}")
        answer: dict[str, Any] = {"channel": {"id": channel, "is_im": True, "user": user}}
        if opened:
            answer["already_open"] = True
        return answer

    def _memberships(self, args: dict[str, Any]) -> dict[str, Any]:
        types = set(str(args.get("types") or "public_channel").split(","))
        exclude = str(args.get("exclude_archived", "")).lower() in ("1", "true")
        chosen = []
        for channel_id in sorted(self.bot_channels):
            found = self.bot_channels[channel_id]
            kind = "private_channel" if found["is_private"] else "public_channel"
            if kind not in types or (exclude and found["is_archived"]):
                continue
            chosen.append(
                {
                    "id": channel_id,
                    "name": channel_id.lower(),
                    "is_channel": not found["is_private"],
                    "is_group": found["is_private"],
                    "is_private": found["is_private"],
                    "is_ext_shared": found["is_ext_shared"],
                    "is_shared": found["is_ext_shared"],
                    "is_archived": found["is_archived"],
                    "is_member": True,
                }
            )
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        limit = int(args.get("limit") or LIMIT)
        page, more = chosen[start : start + limit], start + limit < len(chosen)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}
