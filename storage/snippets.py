"""Saved replies added from chat (the configuration file's live in the settings)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select

from bot.model import Snippet
from storage import tables as t
from storage.engine import Conn
from storage.upsert import upserts

_s = t.snippets.c
_ALL = select(t.snippets).order_by(_s.name, _s.locale)
_REMOVE = delete(t.snippets).where(_s.name == bindparam("name"))
# a second `add` of the same name and language replaces the text
_PUT = upserts(t.snippets, ["name", "locale"], ["text", "by_name", "updated_at"])


class SqlSnippets:
    def __init__(self, conn: Conn, dialect: str) -> None:
        self.conn = conn
        self._put = _PUT[dialect]

    async def all(self) -> list[Snippet]:
        rows = await self.conn.execute(_ALL)
        return [Snippet(r.name, r.locale, r.text, r.by_name) for r in rows]

    async def put(self, snippet: Snippet, at: datetime) -> None:
        row = {
            "name": snippet.name,
            "locale": snippet.locale,
            "text": snippet.text,
            "by_name": snippet.by[:200],
            "updated_at": at,
        }
        await self.conn.execute(self._put, row)

    async def remove(self, name: str) -> int:
        return (await self.conn.execute(_REMOVE, {"name": name})).rowcount
