"""The block list: staff block a customer (for a while, or until lifted); a blocked customer's
messages open no ticket and reach no one, and they are told so once per block."""

from __future__ import annotations

from bot import commands as c
from bot.desk.context import CommandContext
from bot.desk.customers import customer_for
from bot.desk.staff import ticket_for
from bot.model import Block, Customer, Ticket
from bot.parser import USAGE
from bot.ports import Outcome


async def block(ctx: CommandContext, cmd: c.BlockCustomer) -> Outcome:
    customer, ticket = await _named(ctx, cmd.customer, cmd.number, "block")
    assert customer.id is not None
    earlier = await ctx.uow.blocks.active(customer.id, ctx.now)
    await ctx.uow.blocks.lift(customer.id, ctx.caller.actor, ctx.now)  # the new one replaces it
    until = ctx.now + cmd.duration if cmd.duration else None
    # a block changed (made longer, say) is still the one the customer was told of
    told = earlier is not None and earlier.noticed
    await ctx.uow.blocks.add(
        Block(customer.id, ctx.caller.actor, ctx.now, until, cmd.reason, noticed=told)
    )
    tz = ctx.settings.timezone
    if ticket is not None:
        await ctx.notice(
            ticket,
            "notice_blocked",
            agent=ctx.caller.actor.name,
            until=until,
            reason=cmd.reason,
            tz=tz,
        )
    text = ctx.staff_text(
        "reply_blocked", customer=customer.display_name, until=until, reason=cmd.reason, tz=tz
    )
    return Outcome(text, ticket_number=ticket.number if ticket else None)


async def unblock(ctx: CommandContext, cmd: c.UnblockCustomer) -> Outcome:
    customer, ticket = await _named(ctx, cmd.customer, cmd.number, "unblock")
    assert customer.id is not None
    if not await ctx.uow.blocks.lift(customer.id, ctx.caller.actor, ctx.now):
        raise ctx.refuse("not_blocked", customer=customer.display_name)
    if ticket is not None:
        await ctx.notice(ticket, "notice_unblocked", agent=ctx.caller.actor.name)
    return Outcome(
        ctx.staff_text("reply_unblocked", customer=customer.display_name),
        ticket_number=ticket.number if ticket else None,
    )


async def list_blocked(ctx: CommandContext, cmd: c.ListBlocked) -> Outcome:
    blocks = await ctx.uow.blocks.in_force(ctx.now)
    text = ctx.renderer.render(
        ctx.staff_locale, "staff/blocked.md.j2", blocks=blocks, tz=ctx.settings.timezone
    )
    return Outcome(text)


async def _named(
    ctx: CommandContext, mention: str, number: int | None, verb: str
) -> tuple[Customer, Ticket | None]:
    """The customer a block command means: the one mentioned (known to the desk from now
    on, so that they are blocked before they first write), or the ticket's customer."""
    if mention:
        person = ctx.caller.mentions.get(mention)
        if person is None:
            raise ctx.refuse("unknown_person", who=mention, usage=USAGE[verb])
        if person.ref in ctx.caller.mentioned_staff:
            raise ctx.refuse("block_staff", name=person.name)
        if verb == "unblock":  # someone the desk never heard of was never blocked
            known = await ctx.uow.customers.find(person.platform, person.user_id)
            if known is None:
                raise ctx.refuse("not_blocked", customer=person.name)
            return known, None
        customer, _ = await customer_for(ctx, person, "")
        return customer, None
    ticket = await ticket_for(ctx, number, USAGE[verb])
    return Customer(ticket.customer_id, ticket.customer_name, ticket.locale), ticket
