"""Insert-or-replace statements, one per dialect (both speak ON CONFLICT ... DO UPDATE)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def upserts(table: Table, key: Sequence[str], changed: Sequence[str]) -> dict[str, Insert]:
    """By dialect name: insert a row, or set `changed` on the row with the same `key`."""
    built: dict[str, Insert] = {}
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert)):
        stmt = dialect_insert(table)
        built[name] = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in changed}
        )
    return built
