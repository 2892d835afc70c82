"""Which platform adapters `supportbot run` starts: every one whose settings are present."""

from __future__ import annotations

from typing import Protocol

from adapters.discord import settings as discord_settings
from adapters.slack import settings as slack_settings
from bot.clock import Clock
from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.desk import Desk
from bot.ports import Deliverer


class PlatformAdapter(Protocol):
    name: str
    deliverer: Deliverer
    pacers: tuple[Pacer, ...]  # the adapter's own, for calls that are not the outbox's

    async def start(self, desk: Desk) -> None: ...
    async def stop(self) -> None: ...


def configured(config: Config, clock: Clock) -> list[PlatformAdapter]:
    """Adapters with settings present; raises ConfigError naming a bad variable."""
    found: list[PlatformAdapter] = []
    if slack_settings.configured(config.env):
        from adapters.slack.app import SlackAdapter  # Bolt is imported only when used

        found.append(SlackAdapter(slack_settings.load(config.env, config.desk.teams), clock))
    if discord_settings.configured(config.env):
        from adapters.discord.app import DiscordAdapter  # discord.py likewise
        from storage.leadership import GATEWAY_LOCK, role_lock

        settings = discord_settings.load(config.env, config.desk.teams)
        # one process of those sharing the database holds the gateway; the others stand by
        gateway = role_lock(
            config.database_url, GATEWAY_LOCK, check_seconds=settings.standby_retry_seconds
        )
        found.append(DiscordAdapter(settings, gateway))
    return found
