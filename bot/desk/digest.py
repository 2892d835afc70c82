"""The leads' daily digest: figures for the last 24 hours, sent at DIGEST_TIME to the leads
channel of every platform, and shown on demand (`/ticket digest`, `supportbot digest`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.desk.context import CommandContext
from bot.desk.followups import end_of_today
from bot.kinds import MessageKind
from bot.model import SYSTEM, Priority, Reminder, ReminderKind, ReminderStatus, Status
from bot.ports import Outcome, UnitOfWork
from bot.rendering import Renderer
from bot.reports import DigestFigures, digest_figures
from bot.settings import DeskSettings

log = logging.getLogger(__name__)

KEY = "digest"  # one digest row for the desk, however many workers run
WINDOW = timedelta(hours=24)


def next_digest_at(now: datetime, settings: DeskSettings) -> datetime:
    """The next DIGEST_TIME in the desk's time zone strictly after `now`."""
    tz = ZoneInfo(settings.timezone)
    local = now.astimezone(tz)
    day = local.date()
    for offset in range(3):  # a DST gap can skip a wall time; the next day has it
        candidate = datetime.combine(day + timedelta(days=offset), settings.digest_time, tz)
        if candidate > local:
            return candidate.astimezone(now.tzinfo)
    raise AssertionError("unreachable: a day later always has the digest time")


async def schedule(uow: UnitOfWork, settings: DeskSettings, now: datetime) -> Reminder:
    """Make sure the digest row exists and follows DIGEST_TIME. An overdue row is left as
    it is, so a digest missed while the bot was down goes out at start, once."""
    upcoming = next_digest_at(now, settings)
    row = await uow.reminders.by_key(KEY)
    if row is None:
        await uow.reminders.add_once(
            Reminder(None, ReminderKind.DIGEST, upcoming, SYSTEM, now, key=KEY)
        )
        row = await uow.reminders.by_key(KEY)
        assert row is not None
    elif row.due_at > now and row.due_at != upcoming:  # DIGEST_TIME changed since
        row.due_at = upcoming
        row.status = ReminderStatus.PENDING
        await uow.reminders.save(row)
    return row


async def figures(uow: UnitOfWork, settings: DeskSettings, now: datetime) -> DigestFigures:
    today_end = end_of_today(now, settings.timezone)
    view = await uow.reports.digest_view(now - WINDOW, now, today_end)
    # a day of a large desk is thousands of events to count: beside the event loop, which
    # keeps serving customers meanwhile
    return await asyncio.to_thread(digest_figures, view)


def render(
    renderer: Renderer,
    settings: DeskSettings,
    found: DigestFigures,
    *,
    linked: bool,
    kb: bool = False,
) -> str:
    """`linked`: unclaimed tickets as `[#N](ticket:N)`, which adapters turn into links;
    `kb`: the desk has a knowledge base, so the questions none of its articles answered
    are listed (a gap to write), even when there were none."""
    locale = settings.locale
    return renderer.render(
        locale,
        "staff/digest.md.j2",
        d=found,
        tz=settings.timezone,
        linked=linked,
        kb=kb,
        statuses=[s.value for s in Status if s is not Status.CLOSED],
        priorities=[p.value for p in Priority],
        status_label={s.value: renderer.text(locale, f"status_{s.value}") for s in Status},
        priority_label={p.value: renderer.text(locale, f"priority_{p.value}") for p in Priority},
    )


async def fire(ctx: CommandContext, reminder: Reminder) -> None:
    found = await figures(ctx.uow, ctx.settings, ctx.now)
    body = render(ctx.renderer, ctx.settings, found, linked=True, kb=ctx.knowledge is not None)
    links = {str(t.number): [t.staff_channel, t.staff_thread] for t in found.oldest_unclaimed}
    for platform in ctx.settings.lead_platforms:
        await ctx.to_leads(platform, MessageKind.DIGEST, body, links=links)
    if not ctx.settings.lead_platforms:
        log.warning(
            "the daily digest has nowhere to go: no running adapter has a leads channel "
            "(SLACK_LEADS_CHANNEL, DISCORD_LEADS_CHANNEL); `supportbot digest --print` shows it"
        )
    reminder.due_at = next_digest_at(ctx.now, ctx.settings)
    reminder.status = ReminderStatus.PENDING


async def show(ctx: CommandContext) -> Outcome:
    if not ctx.caller.is_lead:
        raise ctx.refuse("not_lead")
    found = await figures(ctx.uow, ctx.settings, ctx.now)
    shown = render(ctx.renderer, ctx.settings, found, linked=False, kb=ctx.knowledge is not None)
    return Outcome(shown)
