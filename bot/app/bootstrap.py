"""Wiring: configuration -> engine -> desk + outbox sender. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.delivery.results import Patience
from bot.delivery.sender import Capacity, OutboxSender
from bot.desk import Desk
from bot.ports import Deliverer
from bot.rendering import Renderer
from bot.scheduling.engine import DeskScheduler
from bot.scheduling.runner import ReminderRunner
from storage.engine import Database
from storage.migrate import upgrade
from storage.outbox import HandOff
from storage.rates import DatabaseRates, shared_rates
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger("supportbot")


@dataclass
class App:
    config: Config
    database: Database
    desk: Desk
    sender: OutboxSender
    runner: ReminderRunner
    rates: DatabaseRates | None = None  # the platforms' limits, shared with other processes
    scheduler: DeskScheduler | None = None

    def share_rates(self, pacers: Iterable[Pacer]) -> None:
        """Adapters' own pacers (their clients' calls) take their turns with everyone's."""
        for pacer in pacers:
            pacer.shared = self.rates

    async def start_scheduler(self) -> None:
        """Follow-ups, response targets, idle tickets and the digest start firing."""
        self.scheduler = DeskScheduler(self.runner, self.desk.settings, self.config.tick_seconds)
        await self.scheduler.start()

    async def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        try:
            if self.rates is not None:
                await self.rates.close()
        finally:
            await self.database.dispose()


async def build(
    config: Config,
    deliverers: dict[str, Deliverer],
    *,
    migrate: bool = True,
    clock: Clock | None = None,
) -> App:
    """Connect (raising StorageUnavailable with a readable reason), migrate, wire the desk."""
    database = Database(config.database_url)
    try:
        await database.ping()
        if migrate:
            applied = await upgrade(database)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
    except BaseException:
        await database.dispose()
        raise
    clock = clock or SystemClock()
    renderer = Renderer(default_locale=config.desk.locale)
    uow_factory = SqlUnitOfWorkFactory(database)
    rates = shared_rates(database)
    sender = OutboxSender(
        uow_factory,
        deliverers,
        clock,
        renderer,
        config.desk.locale,
        capacity=Capacity(concurrency=config.delivery_concurrency),
        patience=Patience(patience=config.delivery_patience),
        pacer=Pacer(shared=rates),
    )
    # a new ticket's acknowledgement and card go to this process's sender as they are written
    uow_factory.handoff = HandOff(sender.worker, sender.capacity.lease)
    leads = tuple(name for name, d in deliverers.items() if d.has_leads_channel)
    settings = replace(config.desk, lead_platforms=leads)
    desk = Desk(uow_factory, renderer, settings, clock, on_outbox=sender.notify)
    return App(config, database, desk, sender, ReminderRunner(desk), rates)
