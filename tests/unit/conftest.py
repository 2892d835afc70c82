from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot import commands as c
from bot.clock import FrozenClock
from bot.delivery.sender import OutboxSender
from bot.desk import Desk, Outcome
from bot.model import OutboundMessage, Person, Source
from bot.rendering import Renderer
from bot.scheduling.runner import ReminderRunner
from bot.settings import DeskSettings
from tests.unit.fakes import FakeDeliverer, FakeUnitOfWorkFactory, Store

PLATFORM = "test"


def customer(name: str = "alice") -> Person:
    return Person(PLATFORM, f"U-{name}", name.capitalize())


def dm(name: str = "alice") -> Source:
    return Source(PLATFORM, "W1", f"D-{name}")


def staff(name: str = "bob", **kw: object) -> c.Caller:
    return c.Caller(Person(PLATFORM, f"S-{name}", name), is_staff=True, **kw)  # type: ignore[arg-type]


@dataclass
class World:
    desk: Desk
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    sender: OutboxSender
    out: FakeDeliverer

    async def customer_says(
        self,
        text: str,
        name: str = "alice",
        locale: str = "",
        event_id: str = "",
        source: Source | None = None,
        timezone: str = "",
    ) -> Outcome:
        person = customer(name)
        return await self.desk.handle(
            c.RelayCustomerMessage(
                person, source or dm(name), text, locale=locale, timezone=timezone
            ),
            c.Caller(person, event_id=event_id),
        )

    async def staff_says(
        self, text: str, name: str = "bob", in_ticket: int | None = None, **kw: object
    ) -> Outcome:
        return await self.desk.handle_text(text, staff(name, in_ticket=in_ticket, **kw))

    async def delivered(self) -> list[str]:
        """Deliver what is due and return the bodies delivered by this call."""
        before = len(self.out.delivered)
        await self.sender.drain()
        return [m.body for m in self.out.delivered[before:]]

    @property
    def store(self) -> Store:
        return self.factory.store

    async def fire_due(self) -> int:
        """One round of due reminders at the clock's current time."""
        return await ReminderRunner(self.desk).fire_due()

    async def at(self, delta: timedelta) -> list[OutboundMessage]:
        """Move the clock, fire what fell due, deliver; returns what this delivered."""
        self.clock.advance(delta)
        await self.fire_due()
        before = len(self.out.delivered)
        await self.sender.drain()
        return self.out.delivered[before:]


def make_world(clock: FrozenClock | None = None, **settings: Any) -> World:
    clock = clock or FrozenClock()
    factory = FakeUnitOfWorkFactory()
    desk_settings = DeskSettings(**({"lead_platforms": (PLATFORM,)} | settings))
    renderer = Renderer(default_locale=desk_settings.locale)
    out = FakeDeliverer(PLATFORM)
    sender = OutboxSender(factory, {PLATFORM: out}, clock, renderer)
    desk = Desk(factory, renderer, desk_settings, clock)
    return World(desk, factory, clock, sender, out)


@pytest.fixture
def world() -> World:
    return make_world()
