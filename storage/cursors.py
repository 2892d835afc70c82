"""The last message seen per platform channel (see tables.channel_cursors)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage import tables as t
from storage.engine import Conn
from storage.sqlite import quick

_c = t.channel_cursors.c
_INSERT_NEW = {
    name: dialect_insert(t.channel_cursors).on_conflict_do_nothing()
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


class SqlCursors:
    def __init__(self, conn: Conn, dialect: str) -> None:
        self.conn = conn
        self._insert_new = _INSERT_NEW[dialect]

    async def get(self, platform: str, channel: str) -> str | None:
        stmt = quick(
            select(_c.last_message_id).where(_c.platform == platform, _c.channel == channel)
        )
        found = (await self.conn.execute(stmt)).scalar()
        return None if found is None else str(found)

    async def advance(self, platform: str, channel: str, message_id: str, at: datetime) -> None:
        known = await self.get(platform, channel)
        if known is None:
            row = {"platform": platform, "channel": channel, "last_message_id": message_id}
            await self.conn.execute(self._insert_new, row | {"updated_at": at})
        if known is not None and later_message(message_id, known):
            await self.conn.execute(
                update(t.channel_cursors)
                .where(_c.platform == platform, _c.channel == channel)
                .values(last_message_id=message_id, updated_at=at)
            )

    async def channels(self, platform: str, since: datetime) -> dict[str, str]:
        stmt = select(_c.channel, _c.last_message_id).where(
            _c.platform == platform, _c.updated_at >= since
        )
        return {row.channel: row.last_message_id for row in await self.conn.execute(stmt)}


def later_message(candidate: str, known: str) -> bool:
    """Message ids that are numbers (Discord's snowflakes) compare as numbers."""
    if candidate.isdigit() and known.isdigit():
        return int(candidate) > int(known)
    return candidate > known
