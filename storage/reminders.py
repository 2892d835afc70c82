"""The reminder repository: time-based work as rows, claimed by one worker at a time.

`claim_due` locks the rows it returns (FOR UPDATE SKIP LOCKED on PostgreSQL), so several
workers on one database each take different reminders; on SQLite the unit of work's
BEGIN IMMEDIATE already lets one writer in at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.model import Reminder, ReminderKind, ReminderStatus
from storage import tables as t
from storage.engine import new_id
from storage.rows import person_from
from storage.sqlite import quick, scan
from storage.write_behind import WriteBehind

_r = t.reminders.c
_tk = t.tickets.c
_OPEN = (ReminderStatus.PENDING.value, ReminderStatus.FIRED.value)
_INSERT = insert(t.reminders)
_INSERT_KEYED = {
    name: dialect_insert(t.reminders).on_conflict_do_nothing(index_elements=["key"])
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
_DUE = (
    select(t.reminders)
    .where(_r.status == ReminderStatus.PENDING.value, _r.due_at <= bindparam("now"))
    .order_by(_r.due_at, _r.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_BY_ID = quick(select(t.reminders).where(_r.id == bindparam("id")))
_BY_KEY = quick(select(t.reminders).where(_r.key == bindparam("key")))
_FOR_TICKET = (
    select(t.reminders)
    .where(_r.ticket_id == bindparam("ticket_id"), _r.status.in_(_OPEN))
    .order_by(_r.due_at, _r.id)
)
_SAVE = update(t.reminders).where(_r.id == bindparam("b_id"))
# by ticket, which no index leads to: SQLite reads through the open reminders
_CANCEL = scan(
    update(t.reminders)
    .where(
        _r.ticket_id == bindparam("b_ticket_id"),
        _r.kind.in_(bindparam("b_kinds", expanding=True)),
        _r.status.in_(bindparam("b_statuses", expanding=True)),
    )
    .values(status=ReminderStatus.CANCELLED.value)
)
_FOLLOW_UPS = (
    select(t.reminders)
    .join(t.tickets, _tk.id == _r.ticket_id)
    .where(
        _r.kind == ReminderKind.FOLLOW_UP.value,
        _r.status.in_(_OPEN),
        or_(
            _r.created_by_ref == bindparam("owner"),
            _tk.assignee_ref == bindparam("owner"),
            _r.due_at < bindparam("due_before"),
        ),
    )
    .order_by(_r.due_at, _r.id)
    .limit(bindparam("limit"))
)


class SqlReminders:
    def __init__(self, conn: WriteBehind, dialect: str) -> None:
        self.conn = conn
        self._insert_keyed = _INSERT_KEYED[dialect]

    async def add(self, reminder: Reminder) -> None:
        reminder.id = new_id(await self.conn.execute(_INSERT, _values(reminder)))

    async def add_many(self, reminders: list[Reminder]) -> None:
        """One statement for several, with the transaction's next (their ids are not read)."""
        await self.conn.later(_INSERT, [_values(r) for r in reminders])

    async def add_once(self, reminder: Reminder) -> bool:
        """Add a keyed reminder unless one with its key exists; True when this one was added."""
        return (await self.conn.execute(self._insert_keyed, _values(reminder))).rowcount == 1

    async def by_id(self, reminder_id: int) -> Reminder | None:
        row = (await self.conn.execute(_BY_ID, {"id": reminder_id})).first()
        return _reminder(row) if row else None

    async def by_key(self, key: str) -> Reminder | None:
        row = (await self.conn.execute(_BY_KEY, {"key": key})).first()
        return _reminder(row) if row else None

    async def open_for_ticket(self, ticket_id: int) -> list[Reminder]:
        rows = await self.conn.execute(_FOR_TICKET, {"ticket_id": ticket_id})
        return [_reminder(r) for r in rows]

    async def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        rows = await self.conn.execute(_DUE, {"now": now, "limit": limit})
        return [_reminder(r) for r in rows]

    async def save(self, reminder: Reminder) -> None:
        await self.conn.execute(
            _SAVE,
            {
                "b_id": reminder.id,
                "status": reminder.status.value,
                "due_at": reminder.due_at,
                "note": reminder.note,
                "last_error": reminder.last_error[:2000],
            },
        )

    async def cancel(
        self, ticket_id: int, kinds: Iterable[ReminderKind], *, fired_too: bool = False
    ) -> int:
        statuses = list(_OPEN) if fired_too else [ReminderStatus.PENDING.value]
        params = {
            "b_ticket_id": ticket_id,
            "b_kinds": [k.value for k in kinds],
            "b_statuses": statuses,
        }
        return int((await self.conn.execute(_CANCEL, params)).rowcount)

    async def follow_ups(self, owner_ref: str, due_before: datetime, limit: int) -> list[Reminder]:
        params = {"owner": owner_ref, "due_before": due_before, "limit": limit}
        return [_reminder(r) for r in await self.conn.execute(_FOLLOW_UPS, params)]


def _values(reminder: Reminder) -> dict[str, Any]:
    return {
        "ticket_id": reminder.ticket_id,
        "kind": reminder.kind.value,
        "due_at": reminder.due_at,
        "status": reminder.status.value,
        "note": reminder.note,
        "created_by_ref": reminder.created_by.ref,
        "created_by_name": reminder.created_by.name,
        "created_at": reminder.created_at,
        "key": reminder.key,
        "last_error": reminder.last_error,
    }


def _reminder(row: Any) -> Reminder:
    m = row._mapping
    return Reminder(
        ticket_id=m["ticket_id"],
        kind=ReminderKind(m["kind"]),
        due_at=m["due_at"],
        created_by=person_from(m["created_by_ref"], m["created_by_name"]),  # type: ignore[arg-type]
        created_at=m["created_at"],
        note=m["note"],
        status=ReminderStatus(m["status"]),
        id=m["id"],
        key=m["key"],
        last_error=m["last_error"],
    )
