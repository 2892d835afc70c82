"""The block list, stored transcripts, saved replies and agents' duty, as storage/blocks.py,
storage/transcripts.py, storage/snippets.py and storage/duty.py."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime
from typing import Any

from bot.model import Block, Duty, Person, Snippet
from tests.unit.fakes.store import (
    DISPLAY_NAME_CHARS,
    Repository,
    Store,
    as_json,
    stored_person,
    utc,
    utc_or_none,
    violation,
)


class FakeBlocks(Repository):
    async def add(self, block: Block) -> None:
        s = await self._s()
        if block.customer_id not in s.customers:
            raise violation(f"no customer {block.customer_id}")
        block.id = s.new_id()
        by = stored_person(block.by)
        s.blocks[block.id] = dataclasses.replace(
            block,
            by=dataclasses.replace(by, name=by.name[:DISPLAY_NAME_CHARS]),
            at=utc(block.at),
            until=utc_or_none(block.until),
            customer_name="",  # the customer's row holds the name
        )

    async def active(self, customer_id: int, now: datetime) -> Block | None:
        s = await self._s()
        found = [b for b in _in_force(s, utc(now)) if b.customer_id == customer_id]
        return found[0] if found else None

    async def lift(self, customer_id: int, by: Person, at: datetime) -> int:
        s = await self._s()
        lifted = [b for b in _in_force(s, utc(at)) if b.customer_id == customer_id]
        for block in lifted:
            assert block.id is not None
            s.lifted[block.id] = utc(at)
        return len(lifted)

    async def mark_noticed(self, block_id: int, at: datetime) -> bool:
        s = await self._s()
        block = s.blocks.get(block_id)
        if block is None or block.noticed:
            return False
        block.noticed = True
        return True

    async def in_force(self, now: datetime) -> list[Block]:
        return _in_force(await self._s(), utc(now))


def _in_force(s: Store, now: datetime) -> list[Block]:
    """Blocks in force, newest first, each with its customer's name, as copies."""
    found = [
        dataclasses.replace(copy.deepcopy(b), customer_name=s.customers[b.customer_id].display_name)
        for block_id, b in s.blocks.items()
        if block_id not in s.lifted and b.active(now)
    ]
    return sorted(found, key=lambda b: b.id or 0, reverse=True)


class FakeTranscripts(Repository):
    async def add(self, ticket_id: int, made_at: datetime, document: dict[str, Any]) -> None:
        s = await self._s()
        if ticket_id not in s.tickets:
            raise violation(f"no ticket {ticket_id}")
        s.transcripts.append((ticket_id, utc(made_at), as_json(document)))

    async def latest(self, ticket_id: int) -> tuple[datetime, dict[str, Any]] | None:
        s = await self._s()
        found = [(at, copy.deepcopy(doc)) for tid, at, doc in s.transcripts if tid == ticket_id]
        return found[-1] if found else None


class FakeSnippets(Repository):
    async def all(self) -> list[Snippet]:
        s = await self._s()
        return [s.snippets[key] for key in sorted(s.snippets)]

    async def put(self, snippet: Snippet, at: datetime) -> None:
        s = await self._s()
        utc(at)
        kept = Snippet(snippet.name, snippet.locale, snippet.text, snippet.by[:DISPLAY_NAME_CHARS])
        s.snippets[(snippet.name, snippet.locale)] = kept

    async def remove(self, name: str) -> int:
        s = await self._s()
        found = [key for key in s.snippets if key[0] == name]
        for key in found:
            del s.snippets[key]
        return len(found)


class FakeDuty(Repository):
    async def put(self, duty: Duty) -> None:
        s = await self._s()
        agent = stored_person(duty.agent)
        kept = s.duty.get(agent.ref)
        s.duty[agent.ref] = Duty(
            dataclasses.replace(agent, name=agent.name[:DISPLAY_NAME_CHARS]),
            tuple(duty.teams),
            duty.on,
            utc_or_none(duty.since),
            kept.last_assigned_at if kept else utc_or_none(duty.last_assigned_at),
        )

    async def get(self, agent_ref: str) -> Duty | None:
        s = await self._s()
        return copy.deepcopy(s.duty.get(agent_ref))

    async def all(self) -> list[Duty]:
        s = await self._s()
        return copy.deepcopy(sorted(s.duty.values(), key=lambda d: (d.agent.name, d.agent.ref)))

    async def assigned(self, agent_ref: str, at: datetime) -> None:
        s = await self._s()
        if agent_ref in s.duty:
            s.duty[agent_ref].last_assigned_at = utc(at)
