"""Wiring: configuration -> engine -> desk + outbox sender. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.app.kb_cli import kb_dir
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.config import kb_threshold as threshold_setting
from bot.delivery.pacing import Pacer
from bot.delivery.results import Patience
from bot.delivery.sender import Capacity, OutboxSender
from bot.desk import Desk
from bot.knowledge import THRESHOLD, KnowledgeBase
from bot.ports import Deliverer
from bot.rendering import Renderer
from bot.scheduling.engine import DeskScheduler
from bot.scheduling.runner import ReminderRunner
from storage.engine import Database
from storage.migrate import upgrade
from storage.outbox import HandOff
from storage.rates import DatabaseRates, shared_rates
from storage.similar import SqlClosedTickets
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
        self.scheduler = DeskScheduler(
            self.runner, self.desk.settings, self.config.tick_seconds, self.desk.clock
        )
        await self.scheduler.start()
        if self.desk.similar is not None:  # read in the background, not by the first search
            self.desk.similar.start()

    async def close(self) -> None:
        if self.desk.similar is not None:
            await self.desk.similar.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()  # a tick under way ends before the database closes
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
        await database.warm()
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
    knowledge = knowledge_base(config)
    desk = Desk(
        uow_factory,
        renderer,
        settings,
        clock,
        on_outbox=sender.notify,
        knowledge=knowledge,
        closed_tickets=SqlClosedTickets(database),
    )
    if desk.knowledge is not None:  # indexed now, not when the first customer writes
        found = await desk.knowledge.load()
        log.info("knowledge base: articles in %s", ", ".join(found) or "no language yet")
    return App(config, database, desk, sender, ReminderRunner(desk), rates)


def kb_threshold(config: Config) -> float:
    """The confidence (0 to 1) an article needs to be offered to a customer unasked: the
    setting as the configuration reads (and refuses) it, else the knowledge base's own."""
    chosen = threshold_setting(config.env.get("SUPPORTBOT_KB_THRESHOLD", "").strip())
    return THRESHOLD if chosen is None else chosen


def knowledge_base(config: Config) -> KnowledgeBase | None:
    """The articles of kb_dir(config); None when the folder does not exist (no knowledge
    base: new tickets are acknowledged without a search)."""
    root = kb_dir(config)
    if not root.is_dir():
        return None
    return KnowledgeBase(root, threshold=kb_threshold(config))
