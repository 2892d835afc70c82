"""Who a customer is to the desk, and whether the desk hears them (the block list)."""

from __future__ import annotations

from bot.desk.context import CommandContext
from bot.kinds import MessageKind
from bot.model import Audience, Block, Customer, OutboundMessage, Person, Refusal, Source


async def customer_for(ctx: CommandContext, person: Person, locale: str) -> tuple[Customer, bool]:
    """The customer behind this platform identity, and whether they are new."""
    customer = await ctx.uow.customers.find(person.platform, person.user_id)
    wanted = ctx.renderer.pick_locale(locale) if locale else ""
    if customer is None:
        customer = Customer(None, person.name, wanted or ctx.settings.locale)
        await ctx.uow.customers.add(customer, person.platform, person.user_id)
        return customer, True
    if (person.name and person.name != customer.display_name) or (
        wanted and wanted != customer.locale
    ):
        customer.display_name = person.name or customer.display_name
        customer.locale = wanted or customer.locale
        await ctx.uow.customers.update(customer)
    return customer, False


async def turned_away(ctx: CommandContext, customer: Customer, source: Source) -> bool:
    """Whether the customer is blocked: then what they sent opens nothing and reaches no one
    (the inbound event keeps it), and the first time in a block they are told so, politely."""
    assert customer.id is not None
    found = await ctx.uow.blocks.active(customer.id, ctx.now)
    if found is None:
        return False
    assert found.id is not None
    if await ctx.uow.blocks.mark_noticed(found.id, ctx.now):
        await ctx.send(
            OutboundMessage(
                source.platform,
                Audience.CUSTOMER,
                MessageKind.BLOCKED,
                ctx.renderer.text(
                    customer.locale, "customer_blocked", until=found.until, tz=ctx.settings.timezone
                ),
                channel=source.channel,
                thread=source.thread,
            )
        )
    return True


async def refused_for_block(ctx: CommandContext, customer: Customer) -> Refusal | None:
    """A blocked customer's form or button is answered, on every press, to them alone."""
    assert customer.id is not None
    found: Block | None = await ctx.uow.blocks.active(customer.id, ctx.now)
    if found is None:
        return None
    return Refusal(
        "customer_blocked",
        locale=customer.locale,
        keep=True,
        until=found.until,
        tz=ctx.settings.timezone,
    )
