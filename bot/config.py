"""Configuration: environment variables (a .env file is read too) plus an optional TOML file
for structured settings (bot.config_file). Every problem is a ConfigError that names the
variable (or the file and the setting) and says what to write instead; one look finds them
all. Defaults live in the settings' dataclasses (`Config` here, `DeskSettings` and its
policies in bot.settings): a setting left out keeps the dataclass's value."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dotenv import dotenv_values

from bot.config_errors import ConfigError as ConfigError
from bot.config_errors import ConfigErrors as ConfigErrors
from bot.config_errors import Problems
from bot.config_file import desk_settings, read_toml
from bot.durations import BadDuration, format_duration, parse_duration
from bot.rendering import available_locales
from bot.settings import DeskSettings

if TYPE_CHECKING:
    from aiohttp.web import BaseRunner

DEFAULT_DATABASE_URL = "sqlite:///supportbot.db"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    desk: DeskSettings = field(default_factory=DeskSettings)
    log_level: str = "INFO"
    shell_staff: tuple[str, ...] = ()  # empty: every @name in the shell is staff
    tick_seconds: float = 15.0  # how often due reminders are looked for
    # how long a message is retried through rate limits and outages before it fails for good
    delivery_patience: timedelta = timedelta(days=1)
    delivery_concurrency: int = 256  # sends under way at once (see delivery.sender.Capacity)
    env: Mapping[str, str] = field(default_factory=dict)  # adapters read their own variables


_CONFIG = Config()
_DESK = DeskSettings()


def load_config(
    env: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
    problems: Problems | None = None,
) -> Config:
    """Raises the problems found (ConfigErrors when there are several); given `problems`,
    adds them there instead and returns the configuration with defaults in their place."""
    values: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    values.update(os.environ if env is None else env)
    found = Problems() if problems is None else problems

    def get(name: str, default: str = "") -> str:
        return values.get(name, "").strip() or default

    locale = found.read(lambda: _locale(get("SUPPORTBOT_LOCALE", _DESK.locale)), _DESK.locale)
    timezone = found.read(
        lambda: _timezone(get("SUPPORTBOT_TIMEZONE", _DESK.timezone)), _DESK.timezone
    )
    level = found.read(
        lambda: _log_level(get("SUPPORTBOT_LOG_LEVEL", _CONFIG.log_level)), _CONFIG.log_level
    )
    path = get("SUPPORTBOT_CONFIG")
    structured: dict[str, Any] = found.read(lambda: read_toml(path), {})
    desk = desk_settings(structured, locale, timezone, path, found)
    if text := get("DIGEST_TIME"):
        desk = replace(desk, digest_time=found.read(lambda: _digest_time(text), desk.digest_time))
    tick_seconds = found.read(
        lambda: _tick(get("SUPPORTBOT_TICK_SECONDS", f"{_CONFIG.tick_seconds:g}")),
        _CONFIG.tick_seconds,
    )
    delivery_patience = found.read(
        lambda: _patience(
            get("SUPPORTBOT_DELIVERY_PATIENCE", format_duration(_CONFIG.delivery_patience))
        ),
        _CONFIG.delivery_patience,
    )
    concurrency = found.read(
        lambda: _concurrency(
            get("SUPPORTBOT_DELIVERY_CONCURRENCY", str(_CONFIG.delivery_concurrency))
        ),
        _CONFIG.delivery_concurrency,
    )
    # read where the knowledge base is built (bot.app.bootstrap); refused here like any setting
    found.read(lambda: kb_threshold(get("SUPPORTBOT_KB_THRESHOLD")), None)
    staff = tuple(
        n.strip().lstrip("@") for n in get("SUPPORTBOT_SHELL_STAFF").split(",") if n.strip()
    )
    if problems is None:
        found.raise_any()
    return Config(
        database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL),
        desk=desk,
        log_level=level,
        shell_staff=staff,
        tick_seconds=tick_seconds,
        delivery_patience=delivery_patience,
        delivery_concurrency=concurrency,
        env=values,
    )


def _locale(locale: str) -> str:
    if locale not in available_locales():
        raise ConfigError(
            "SUPPORTBOT_LOCALE",
            f"{locale!r} has no templates; use one of {', '.join(available_locales())}",
        )
    return locale


def _timezone(name: str) -> str:
    """The zone's own spelling: `utc` or `europe/berlin` are understood as UTC, Europe/Berlin."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    else:
        return name
    known = _zones_by_lower_case().get(name.lower())
    if known is not None:
        return known
    raise ConfigError(
        "SUPPORTBOT_TIMEZONE",
        f"{name!r} is not a known time zone; use a name like Europe/Berlin, Asia/Tokyo or UTC",
    )


@cache
def _zones_by_lower_case() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(
            "SUPPORTBOT_LOG_LEVEL", f"{level!r} is not one of {', '.join(_LOG_LEVELS)}"
        )
    return level


def _tick(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0  # refused just below, with the same words
    if not 1 <= seconds <= 3600:
        raise ConfigError(
            "SUPPORTBOT_TICK_SECONDS", f"{text!r} must be a number of seconds from 1 to 3600"
        )
    return seconds


def _patience(text: str) -> timedelta:
    try:
        patience = parse_duration(text)
    except BadDuration:
        patience = timedelta(0)  # refused just below, with the same words
    if patience < timedelta(minutes=10):
        raise ConfigError(
            "SUPPORTBOT_DELIVERY_PATIENCE",
            f"{text!r} must be a duration of at least 10 minutes, like 6h, 1d or 3d",
        )
    return patience


def _concurrency(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 1000:
        raise ConfigError(
            "SUPPORTBOT_DELIVERY_CONCURRENCY",
            f"{text!r} must be a whole number from 1 to 1000 (sends under way at once)",
        )
    return int(text)


def kb_threshold(text: str) -> float | None:
    """SUPPORTBOT_KB_THRESHOLD: the confidence from 0 to 1 an article needs to be offered
    with a new ticket's acknowledgement; None when unset (the knowledge base's default)."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:  # nan too
        raise ConfigError(
            "SUPPORTBOT_KB_THRESHOLD", f"{text!r} is not a number from 0 to 1 (like 0.62)"
        )
    return value


def _digest_time(text: str) -> time:
    """DIGEST_TIME: HH:MM on a 24-hour clock, in the desk's time zone."""
    problem = f"{text!r} is not a time; write it like 09:00 or 17:30"
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise ConfigError("DIGEST_TIME", problem) from None
    if len(text) != 5 or parsed.second or parsed.tzinfo:
        raise ConfigError("DIGEST_TIME", problem)
    return parsed


def listening_port(runner: BaseRunner) -> int | None:
    """The port an HTTP server listens on, which SUPPORTBOT_HTTP_PORT=0 leaves to the system:
    the first address of `runner`'s sites (None before one has started). The health server and
    the Slack adapter's both ask here."""
    addresses = runner.addresses
    return int(addresses[0][1]) if addresses else None
