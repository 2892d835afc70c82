"""The first-response target: a nudge at 75%, a breach at 100% (business hours when set)."""

from __future__ import annotations

from bot import events as ev
from bot.desk.context import CommandContext
from bot.desk.ticket_clocks import response_due, target_for
from bot.kinds import MessageKind
from bot.model import Reminder, ReminderStatus, Ticket
from bot.ports import LEADS_GROUP, STAFF_GROUP


def _still_unanswered(ticket: Ticket) -> bool:
    return not (ticket.first_response_at or ticket.sla_breached_at or ticket.is_closed)


def _target_text(ctx: CommandContext, ticket: Ticket) -> str:
    target = target_for(ctx.settings, ticket)
    return ctx.renderer.duration(ctx.staff_locale, target)


async def nudge(ctx: CommandContext, reminder: Reminder, ticket: Ticket) -> None:
    due = response_due(ctx.settings, ticket)
    # after a restart the breach may be due too; then it speaks alone
    if not _still_unanswered(ticket) or ctx.now >= due:
        reminder.status = ReminderStatus.CANCELLED
        return
    await ctx.notice(
        ticket,
        "notice_sla_nudge",
        target=_target_text(ctx, ticket),
        due=due,
        tz=ctx.settings.timezone,
        mentions=ctx.who_to_ping(ticket, STAFF_GROUP),
    )
    await ctx.record(ticket, ev.ResponseTargetNudged(due.isoformat()))
    reminder.status = ReminderStatus.DONE


async def breach(ctx: CommandContext, reminder: Reminder, ticket: Ticket) -> None:
    if not _still_unanswered(ticket):
        reminder.status = ReminderStatus.CANCELLED
        return
    ticket.sla_breached_at = ctx.now
    ticket.updated_at = ctx.now
    await ctx.uow.tickets.save(ticket)
    await ctx.card(ticket)
    target = _target_text(ctx, ticket)
    await ctx.record(ticket, ev.ResponseTargetBreached(target))
    platform = ticket.source.platform
    if platform in ctx.settings.lead_platforms:
        await ctx.to_leads(
            platform,
            MessageKind.SLA_BREACH,
            ctx.staff_text(
                "leads_sla_breach",
                number=ticket.number,
                subject=ticket.subject,
                target=target,
                priority=ctx.staff_text(f"priority_{ticket.priority.value}"),
                assignee=ticket.assignee.name if ticket.assignee else "",
            ),
            links={str(ticket.number): [ticket.staff_channel, ticket.staff_thread]},
        )
        mentions = ctx.who_to_ping(ticket, STAFF_GROUP)
    else:  # no leads channel on this platform: the leads hear of it in the thread
        mentions = [LEADS_GROUP] + ([ticket.assignee.user_id] if ticket.assignee else [])
    await ctx.notice(ticket, "notice_sla_breach", target=target, mentions=mentions)
    reminder.status = ReminderStatus.DONE
