"""Reminders and the digest's read view, as storage/reminders.py and storage/reports.py."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from bot.kinds import EventKind
from bot.model import (
    Reminder,
    ReminderKind,
    ReminderStatus,
    Status,
)
from bot.reports import COUNTED, AuditLine, DigestView, UnclaimedTicket
from storage.reports import OLDEST_UNCLAIMED
from tests.unit.fakes.store import (
    LAST_ERROR_CHARS,
    Repository,
    stored_person,
    utc,
    violation,
)


class FakeReminders(Repository):
    async def add(self, reminder: Reminder) -> None:
        reminder.id = await self._insert(reminder)

    async def add_many(self, reminders: list[Reminder]) -> None:
        """As SQL: one statement, the ids not read back."""
        for reminder in reminders:
            await self._insert(reminder)

    async def add_once(self, reminder: Reminder) -> bool:
        """As SQL: True when added (its id not read back); no key is never a duplicate."""
        s = await self._s()
        if reminder.key is not None and any(r.key == reminder.key for r in s.reminders):
            return False
        await self._insert(reminder)
        return True

    async def _insert(self, reminder: Reminder) -> int:
        s = await self._s()
        if reminder.key is not None and any(r.key == reminder.key for r in s.reminders):
            raise violation(f"reminder key {reminder.key} exists")
        if reminder.ticket_id is not None and reminder.ticket_id not in s.tickets:
            raise violation(f"no ticket {reminder.ticket_id}")
        stored = Reminder(
            ticket_id=reminder.ticket_id,
            kind=ReminderKind(reminder.kind),
            due_at=utc(reminder.due_at),
            created_by=stored_person(reminder.created_by),
            created_at=utc(reminder.created_at),
            note=reminder.note,
            status=ReminderStatus(reminder.status),
            id=s.new_id(),
            key=reminder.key,
            last_error=reminder.last_error,
        )
        s.reminders.append(stored)
        assert stored.id is not None
        return stored.id

    async def _find(self, pred: Callable[[Reminder], bool]) -> Reminder | None:
        s = await self._s()
        found = next((r for r in s.reminders if pred(r)), None)
        return copy.copy(found) if found else None

    async def by_id(self, reminder_id: int) -> Reminder | None:
        return await self._find(lambda r: r.id == reminder_id)

    async def by_key(self, key: str) -> Reminder | None:
        return await self._find(lambda r: r.key == key)

    async def open_for_ticket(self, ticket_id: int) -> list[Reminder]:
        s = await self._s()
        found = [r for r in s.reminders if r.ticket_id == ticket_id and r.is_open]
        return _soonest_first(found)

    async def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        s = await self._s()
        now = utc(now)
        due = [r for r in s.reminders if r.status is ReminderStatus.PENDING and r.due_at <= now]
        return _soonest_first(due)[:limit]

    async def save(self, reminder: Reminder) -> None:
        """As SQL: what a reminder's handling changes (status, due time, note, last error)."""
        s = await self._s()
        for stored in s.reminders:
            if stored.id == reminder.id:
                stored.status = ReminderStatus(reminder.status)
                stored.due_at = utc(reminder.due_at)
                stored.note = reminder.note
                stored.last_error = reminder.last_error[:LAST_ERROR_CHARS]

    async def cancel(
        self, ticket_id: int, kinds: Iterable[ReminderKind], *, fired_too: bool = False
    ) -> int:
        s = await self._s()
        statuses = (
            (ReminderStatus.PENDING, ReminderStatus.FIRED)
            if fired_too
            else (ReminderStatus.PENDING,)
        )
        wanted = {ReminderKind(k) for k in kinds}
        count = 0
        for r in s.reminders:
            if r.ticket_id == ticket_id and r.kind in wanted and r.status in statuses:
                r.status = ReminderStatus.CANCELLED
                count += 1
        return count

    async def follow_ups(self, owner_ref: str, due_before: datetime, limit: int) -> list[Reminder]:
        s = await self._s()
        due_before = utc(due_before)

        def wanted(r: Reminder) -> bool:
            ticket = s.tickets.get(r.ticket_id) if r.ticket_id is not None else None
            if ticket is None or r.kind is not ReminderKind.FOLLOW_UP or not r.is_open:
                return False  # a follow-up is a ticket's (SQL joins the ticket)
            assignee = ticket.assignee.ref if ticket.assignee else None
            return owner_ref in (r.created_by.ref, assignee) or r.due_at < due_before

        return _soonest_first([r for r in s.reminders if wanted(r)])[:limit]


def _soonest_first(reminders: Iterable[Reminder]) -> list[Reminder]:
    return [copy.copy(r) for r in sorted(reminders, key=lambda r: (r.due_at, r.id or 0))]


class FakeReports(Repository):
    async def digest_view(
        self, since: datetime, until: datetime, today_end: datetime
    ) -> DigestView:
        """What storage.reports.SqlReports reads, from the store."""
        s = await self._s()
        since, until, today_end = utc(since), utc(until), utc(today_end)

        def within(at: datetime | None) -> bool:
            return at is not None and since <= at < until

        tickets = sorted(s.tickets.values(), key=lambda t: t.id or 0)
        view = DigestView(since, until)
        view.new_by_platform = dict(
            Counter(t.source.platform for t in tickets if within(t.created_at))
        )
        by_id = {t.id: t for t in tickets}
        for e in s.events:
            ticket = by_id.get(e.ticket_id)
            if ticket is None or e.kind not in COUNTED or not within(e.at):
                continue
            assignee = ticket.assignee
            view.events.append(
                AuditLine(
                    e.kind,
                    e.actor.ref,
                    e.actor.name,
                    copy.deepcopy(e.data),
                    ticket.source.platform,
                    assignee.ref if assignee else None,
                    assignee.name if assignee else None,
                    e.ticket_id,
                    e.at,
                    f" {' '.join(ticket.tags)} " if ticket.tags else "",
                )
            )
        view.new_subjects = [t.subject for t in tickets if within(t.created_at)]
        view.unanswered = [
            (by_id[e.ticket_id].number, by_id[e.ticket_id].subject)
            for e in sorted(s.events, key=lambda e: e.at)
            if e.kind is EventKind.KB_MISSED and within(e.at) and e.ticket_id in by_id
        ]
        view.new_tagged = {
            t.id: tuple(t.tags)
            for t in tickets
            if t.id is not None and within(t.created_at) and t.tags
        }
        not_closed = [t for t in tickets if t.status is not Status.CLOSED]
        backlog = Counter((t.status.value, t.priority.value, t.source.platform) for t in not_closed)
        view.backlog = [(*key, count) for key, count in backlog.items()]
        unclaimed = sorted(
            (t for t in not_closed if t.assignee is None), key=lambda t: (t.created_at, t.id or 0)
        )
        view.oldest_unclaimed = [
            UnclaimedTicket(
                t.number,
                t.subject,
                t.source.platform,
                t.priority.value,
                t.created_at,
                t.staff_channel,
                t.staff_thread,
            )
            for t in unclaimed[:OLDEST_UNCLAIMED]
        ]
        view.responded = {
            t.id: t.sla_breached_at
            for t in tickets
            if t.id is not None and within(t.first_response_at)
        }
        view.breached = {t.id for t in tickets if t.id is not None and within(t.sla_breached_at)}
        view.follow_ups_due_today = sum(
            1
            for r in s.reminders
            if r.kind is ReminderKind.FOLLOW_UP and r.is_open and r.due_at < today_end
        )
        return view
