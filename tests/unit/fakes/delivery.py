"""The outbox, inbound events and read positions as storage/ keeps them, and a deliverer that
records what it was given."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.delivery.pacing import Route
from bot.kinds import MessageKind
from bot.model import (
    Action,
    Audience,
    OutboundMessage,
    Ticket,
)
from bot.ports import (
    DeliveryError,
    DeliveryReceipt,
)
from storage.cursors import later_message
from tests.unit.fakes.store import OutboxRow, Repository, as_json, utc, violation


class FakeOutbox(Repository):
    async def add(self, message: OutboundMessage, at: datetime) -> None:
        # as SQL (without a hand-off): the message given is not changed, its row gets an id
        s = await self._s()
        if message.ticket_id is not None and message.ticket_id not in s.tickets:
            raise violation(f"no ticket {message.ticket_id}")
        actions = [{"id": a.id, "label": a.label, "style": a.style} for a in message.actions]
        stored = OutboundMessage(
            platform=message.platform,
            audience=Audience(message.audience),
            kind=MessageKind(str(message.kind)),
            body=message.body,
            ticket_id=message.ticket_id,
            ticket_number=message.ticket_number,
            author_name=message.author_name,
            channel=message.channel,
            thread=message.thread,
            actions=[Action(**a) for a in as_json(actions)],
            mentions=list(as_json(list(message.mentions))),
            data=dict(as_json(message.data)),
            id=s.new_id(),
            created_at=utc(at),
        )
        assert stored.id is not None
        s.outbox[stored.id] = OutboxRow(
            message=stored, status="pending", next=utc(at), error="", platform_id="", lease=None
        )

    async def claim(
        self, now: datetime, limit: int, owner: str, until: datetime, *, customers_only: bool
    ) -> list[OutboundMessage]:
        s = await self._s()
        now = utc(now)
        seen: set[str] = set()
        heads = []
        for row in sorted(s.outbox.values(), key=lambda r: r["message"].id or 0):
            if row["status"] != "pending":
                continue
            message = row["message"]
            lease = row["lease"]
            free = lease is None or lease[1] < now
            if message.conversation not in seen and row["next"] <= now and free:
                heads.append(row)
            seen.add(message.conversation)
        if customers_only:
            heads = [r for r in heads if r["message"].audience is Audience.CUSTOMER]
        heads.sort(key=lambda r: (r["message"].audience is not Audience.CUSTOMER, r["message"].id))
        for row in heads[:limit]:
            row["lease"] = (owner, utc(until))
        return [copy.deepcopy(r["message"]) for r in heads[:limit]]

    async def renew(self, message_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        held = set()
        for row in await self._rows(message_ids):
            if row["status"] == "pending" and row["lease"] is not None and row["lease"][0] == owner:
                row["lease"] = (owner, utc(until))
                held.add(row["message"].id or 0)
        return held

    async def release(self, message_ids: Sequence[int], owner: str) -> None:
        for row in await self._rows(message_ids):
            if row["status"] == "pending" and row["lease"] is not None and row["lease"][0] == owner:
                row["lease"] = None

    async def start_attempts(self, message_ids: Sequence[int], at: datetime) -> None:
        utc(at)
        for row in await self._rows(message_ids):
            row["message"].in_doubt = True

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None:
        utc(at)
        for row in await self._rows([message_id]):
            row["status"], row["platform_id"] = "sent", platform_message_id
            self._attempted(row, in_doubt=False)

    async def mark_retry(
        self, message_id: int, next_attempt_at: datetime, error: str, *, in_doubt: bool = False
    ) -> None:
        for row in await self._rows([message_id]):
            row["next"], row["error"] = utc(next_attempt_at), error
            # in doubt: a send that was under way stays so; none under way starts to be
            self._attempted(row, in_doubt=in_doubt and row["message"].in_doubt)

    async def mark_warned(self, message_id: int, at: datetime) -> None:
        utc(at)
        for row in await self._rows([message_id]):
            row["message"].warned = True

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        utc(at)
        for row in await self._rows([message_id]):
            row["status"], row["error"] = "failed", error
            self._attempted(row, in_doubt=False)

    @staticmethod
    def _attempted(row: OutboxRow, *, in_doubt: bool) -> None:
        """An attempt's outcome: counted, and the row is free for whoever is next."""
        row["message"].attempts += 1
        row["message"].in_doubt = in_doubt
        row["lease"] = None

    async def _rows(self, message_ids: Iterable[int]) -> list[OutboxRow]:
        """The rows of these ids that exist (an unknown id changes nothing, as in SQL)."""
        s = await self._s()
        return [s.outbox[i] for i in dict.fromkeys(message_ids) if i in s.outbox]

    async def pending_count(self) -> int:
        s = await self._s()
        return sum(1 for r in s.outbox.values() if r["status"] == "pending")


class FakeCursors(Repository):
    async def get(self, platform: str, channel: str) -> str | None:
        s = await self._s()
        return s.cursors.get((platform, channel))

    async def advance(self, platform: str, channel: str, message_id: str, at: datetime) -> None:
        s = await self._s()
        key = (platform, channel)
        known = s.cursors.get(key)
        if known is None or later_message(message_id, known):
            s.cursors[key] = message_id
            s.cursor_times[key] = utc(at)

    async def channels(self, platform: str, since: datetime) -> dict[str, str]:
        s = await self._s()
        since = utc(since)
        return {
            channel: message_id
            for (p, channel), message_id in s.cursors.items()
            if p == platform and s.cursor_times[(p, channel)] >= since
        }


class FakeInbound(Repository):
    async def record(
        self, platform: str, event_id: str, payload: dict[str, Any], at: datetime
    ) -> bool:
        s = await self._s()
        utc(at)
        if (platform, event_id) in s.inbound:
            return False
        s.inbound[(platform, event_id)] = dict(as_json(payload))
        return True

    async def record_failure(
        self, platform: str, event_id: str, payload: dict[str, Any], error: str, at: datetime
    ) -> None:
        # under a key of its own, so the platform's retry of the same event is still handled
        s = await self._s()
        utc(at)
        kept = dict(as_json(payload)) | {"error": error}
        s.inbound.setdefault((platform, f"failed:{event_id}"), kept)


class FakeDeliverer:
    """Records deliveries; `failures[kind]` lists errors to raise for that kind, in order."""

    def __init__(self, platform: str = "test") -> None:
        self.platform = platform
        self.has_leads_channel = True
        self.delivered: list[OutboundMessage] = []
        self.failures: dict[str, list[DeliveryError]] = {}

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        return None

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        if self.failures.get(message.kind):
            raise self.failures[message.kind].pop(0)
        self.delivered.append(message)
        return DeliveryReceipt(f"pm{len(self.delivered)}", "staff-chan", f"th{message.ticket_id}")

    def bodies(self, audience: str | None = None) -> list[str]:
        return [m.body for m in self.delivered if audience in (None, m.audience.value)]
