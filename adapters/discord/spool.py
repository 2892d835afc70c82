"""A local, append-only file for Discord messages the database could not take.

Discord's gateway delivers a message once and never again, so a message that arrives while
the database is down would be lost with the event. It is written here instead (flushed and
fsynced before we move on) and replayed, in order, when the database is back; the desk's
event-id check makes a replay that is interrupted and repeated change nothing twice. While
anything waits here, newer messages queue behind it, so a conversation keeps its order."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Any

from bot.model import Attachment, Person

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Arrival:
    """A message as Discord delivered it, as plain data: handled, spooled or replayed alike."""

    kind: str  # "customer" (a DM or a support channel) or "agent" (a ticket's staff thread)
    message_id: str
    channel_id: str  # where it was written
    reply_channel: str  # the customer's DM channel; the staff thread for agents
    guild_id: str
    author: Person
    is_staff: bool
    content: str
    attachments: tuple[Attachment, ...] = ()
    teams: tuple[str, ...] = ()  # the author's teams by their roles (DISCORD_TEAM_ROLES)

    def to_json(self) -> str:
        # ensure_ascii: a lone surrogate, which Discord can deliver, survives as an escape
        return json.dumps(dataclasses.asdict(self), ensure_ascii=True)

    @classmethod
    def from_json(cls, line: str) -> Arrival:
        data: dict[str, Any] = json.loads(line)
        data["author"] = Person(**data["author"])
        data["attachments"] = tuple(Attachment(**a) for a in data["attachments"])
        data["teams"] = tuple(data.get("teams", ()))  # absent from a spool written before
        return cls(**data)


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._waiting: deque[Arrival] = deque()
        self._lock = asyncio.Lock()

    def load(self) -> int:
        """Read what a previous run left waiting; a damaged line is reported, not fatal."""
        if not self.path.exists():
            return 0
        for number, line in enumerate(self.path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                self._waiting.append(Arrival.from_json(line))
            except (ValueError, TypeError, KeyError) as error:
                log.error(
                    "discord spool %s line %d is unreadable, kept aside: %s",
                    self.path,
                    number,
                    error,
                )
                self._append_aside(line)
        return len(self._waiting)

    def check_writable(self) -> None:
        """Raises OSError now rather than during an outage (the file itself is made only
        when something must wait in it)."""
        folder = self.path.resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise PermissionError(f"the folder {str(folder)!r} is missing or not writable")
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise PermissionError(f"{str(self.path)!r} is not writable")

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def first(self) -> Arrival | None:
        return self._waiting[0] if self._waiting else None

    async def append(self, arrival: Arrival) -> None:
        async with self._lock:
            self._waiting.append(arrival)
            await asyncio.to_thread(self._append_line, arrival.to_json())

    async def done(self, arrival: Arrival) -> None:
        """The first arrival is stored in the database: it leaves the file."""
        async with self._lock:
            if self._waiting and self._waiting[0] == arrival:
                self._waiting.popleft()
            lines = [a.to_json() for a in self._waiting]
            await asyncio.to_thread(self._rewrite, lines)

    @property
    def aside(self) -> Path:
        """Where what cannot be handled is kept for an operator, rather than lost."""
        return self.path.with_suffix(".damaged")

    async def set_aside(self, arrival: Arrival) -> None:
        await asyncio.to_thread(self._append_aside, arrival.to_json())

    def _append_aside(self, line: str) -> None:
        with self.aside.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def _append_line(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _rewrite(self, lines: list[str]) -> None:
        if not lines:
            self.path.unlink(missing_ok=True)
            return
        fresh = self.path.with_suffix(".tmp")
        with fresh.open("w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        fresh.replace(self.path)
