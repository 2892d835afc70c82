"""Who a customer is to the desk, and whether the desk hears them (the block list)."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.desk.context import CommandContext
from bot.kinds import MessageKind
from bot.model import Audience, Block, Customer, OutboundMessage, Person, Refusal, Source


async def customer_for(
    ctx: CommandContext, person: Person, locale: str, timezone: str = ""
) -> tuple[Customer, bool]:
    """The customer behind this platform identity, and whether they are new. What the
    platform tells of their language and time zone is kept, the latest winning."""
    wanted = ctx.renderer.pick_locale(locale) if locale else ""
    zone = timezone if _known_zone(timezone) else ""
    customer, new = await ctx.uow.customers.find_or_add(
        person.platform,
        person.user_id,
        Customer(None, person.name, wanted or ctx.settings.locale, zone),
    )
    if new:
        return customer, True
    changed = (
        (person.name and person.name != customer.display_name)
        or (wanted and wanted != customer.locale)
        or (zone and zone != customer.timezone)
    )
    if changed:
        customer.display_name = person.name or customer.display_name
        customer.locale = wanted or customer.locale
        customer.timezone = zone or customer.timezone
        await ctx.uow.customers.update(customer)
    return customer, False


def zone_of(ctx: CommandContext, customer: Customer) -> str:
    """The time zone a customer reads times in: their own where known, else the desk's."""
    return customer.timezone or ctx.settings.timezone


@cache
def _known_zone(name: str) -> bool:
    # a platform's name this machine's zone database lacks is no reason to refuse a message
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


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
                    customer.locale,
                    "customer_blocked",
                    until=found.until,
                    tz=zone_of(ctx, customer),
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
        tz=zone_of(ctx, customer),
    )
