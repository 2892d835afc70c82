"""Configuration: environment variables (a .env file is read too) plus an optional TOML file
for structured settings. Every problem is one ConfigError that names the variable (or the
file and the setting) and says what to write instead. Defaults live in the settings'
dataclasses (`Config` here, `DeskSettings` and its policies in bot.settings): a setting left
out keeps the dataclass's value."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.business_hours import BusinessHours
from bot.categories import CategoryConfigError, categories_from
from bot.durations import BadDuration, format_duration, parse_duration
from bot.model import Priority
from bot.rendering import available_locales
from bot.routing_config import RoutingConfigError, routing_from
from bot.saved_replies import SnippetConfigError, snippets_from
from bot.settings import DeskSettings, FollowUpPolicy, IdlePolicy

DEFAULT_DATABASE_URL = "sqlite:///supportbot.db"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    desk: DeskSettings = field(default_factory=DeskSettings)
    log_level: str = "INFO"
    shell_staff: tuple[str, ...] = ()  # empty: every @name in the shell is staff
    tick_seconds: float = 15.0  # how often due reminders are looked for
    # how long a message is retried through rate limits and outages before it fails for good
    delivery_patience: timedelta = timedelta(days=1)
    delivery_concurrency: int = 64  # sends under way at once, each conversation still in order
    env: Mapping[str, str] = field(default_factory=dict)  # adapters read their own variables


_CONFIG = Config()
_DESK = DeskSettings()


def load_config(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Config:
    values: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    values.update(os.environ if env is None else env)

    def get(name: str, default: str = "") -> str:
        return values.get(name, "").strip() or default

    locale = get("SUPPORTBOT_LOCALE", _DESK.locale)
    if locale not in available_locales():
        raise ConfigError(
            "SUPPORTBOT_LOCALE",
            f"{locale!r} has no templates; use one of {', '.join(available_locales())}",
        )
    timezone = get("SUPPORTBOT_TIMEZONE", _DESK.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "SUPPORTBOT_TIMEZONE",
            f"{timezone!r} is not a known time zone; use a name like "
            "Europe/Berlin, Asia/Tokyo or UTC",
        ) from None
    level = get("SUPPORTBOT_LOG_LEVEL", _CONFIG.log_level).upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(
            "SUPPORTBOT_LOG_LEVEL", f"{level!r} is not one of {', '.join(_LOG_LEVELS)}"
        )
    structured = _read_toml(get("SUPPORTBOT_CONFIG"))
    desk = _desk_settings(structured, locale, timezone, get("SUPPORTBOT_CONFIG"))
    if text := get("DIGEST_TIME"):
        desk = replace(desk, digest_time=_digest_time(text))
    tick = get("SUPPORTBOT_TICK_SECONDS", f"{_CONFIG.tick_seconds:g}")
    try:
        tick_seconds = float(tick)
    except ValueError:
        tick_seconds = 0.0  # refused just below, with the same words
    if not 1 <= tick_seconds <= 3600:
        raise ConfigError(
            "SUPPORTBOT_TICK_SECONDS", f"{tick!r} must be a number of seconds from 1 to 3600"
        )
    patience = get("SUPPORTBOT_DELIVERY_PATIENCE", format_duration(_CONFIG.delivery_patience))
    try:
        delivery_patience = parse_duration(patience)
    except BadDuration:
        delivery_patience = timedelta(0)  # refused just below, with the same words
    if delivery_patience < timedelta(minutes=10):
        raise ConfigError(
            "SUPPORTBOT_DELIVERY_PATIENCE",
            f"{patience!r} must be a duration of at least 10 minutes, like 6h, 1d or 3d",
        )
    concurrency = get("SUPPORTBOT_DELIVERY_CONCURRENCY", str(_CONFIG.delivery_concurrency))
    if not concurrency.strip().isdigit() or not 1 <= int(concurrency) <= 1000:
        raise ConfigError(
            "SUPPORTBOT_DELIVERY_CONCURRENCY",
            f"{concurrency!r} must be a whole number from 1 to 1000 (sends under way at once)",
        )
    staff = tuple(
        n.strip().lstrip("@") for n in get("SUPPORTBOT_SHELL_STAFF").split(",") if n.strip()
    )
    return Config(
        database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL),
        desk=desk,
        log_level=level,
        shell_staff=staff,
        tick_seconds=tick_seconds,
        delivery_patience=delivery_patience,
        delivery_concurrency=int(concurrency),
        env=values,
    )


def _read_toml(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with Path(path).open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("SUPPORTBOT_CONFIG", f"the file {path!r} does not exist") from None
    except OSError as error:
        raise ConfigError("SUPPORTBOT_CONFIG", f"cannot read {path!r}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("SUPPORTBOT_CONFIG", f"{path!r} is not valid TOML: {error}") from None


def _grace(value: Any, where: str) -> timedelta:
    """How long after a close a short thanks still joins the closed ticket; 0 turns it off."""
    if value is None:
        return _DESK.thanks_grace
    text = str(value).strip()
    if re.fullmatch(r"0+[smhdw]?", text):  # 0, 0m, 0h: never
        return timedelta(0)
    try:
        return parse_duration(text)
    except BadDuration:
        raise ConfigError(
            where, f"thanks_grace = {text!r} is not a duration like 10m or 1h (0 turns it off)"
        ) from None


def _desk_settings(data: dict[str, Any], locale: str, timezone: str, path: str) -> DeskSettings:
    where = f"SUPPORTBOT_CONFIG ({path})"
    known = {
        "teams",
        "note_prefixes",
        "keywords",
        "first_response_targets",
        "business_hours",
        "followups",
        "idle",
        "thanks_grace",
        "customer_transcripts",
        "snippets",
        "anonymous_replies",
        "team_name",
        "routing",
        "categories",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            where, f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    teams = _names(data.get("teams", list(_DESK.teams)), where, "teams")
    prefixes = _names(data.get("note_prefixes", list(_DESK.note_prefixes)), where, "note_prefixes")
    keywords = dict(_DESK.keywords)
    for name, words in _table(data, "keywords", where).items():
        keywords[_priority(name, where, "keywords")] = tuple(
            _names(words, where, f"keywords.{name}")
        )
    targets = dict(_DESK.first_response_targets)
    for name, text in _table(data, "first_response_targets", where).items():
        try:
            targets[_priority(name, where, "first_response_targets")] = parse_duration(str(text))
        except BadDuration:
            raise ConfigError(
                where,
                f"first_response_targets.{name} = {text!r} is not a duration like 15m, 4h or 1d",
            ) from None
    business = _business_hours(_table(data, "business_hours", where), timezone, where)
    follow_ups = _follow_up_policy(_table(data, "followups", where), where)
    idle = _idle_policy(_table(data, "idle", where), where)
    thanks_grace = _grace(data.get("thanks_grace"), where)
    transcripts = _flag(data.get("customer_transcripts", False), where, "customer_transcripts")
    try:
        snippets = snippets_from(data.get("snippets", {}))
    except SnippetConfigError as error:
        raise ConfigError(where, str(error)) from None
    try:
        routing = routing_from(data.get("routing", {}), tuple(t.lower() for t in teams))
    except RoutingConfigError as error:
        raise ConfigError(where, str(error)) from None
    try:
        categories = categories_from(
            data.get("categories", {}), tuple(t.lower() for t in teams), available_locales()
        )
    except CategoryConfigError as error:
        raise ConfigError(where, str(error)) from None
    team_name = data.get("team_name", "")
    if not isinstance(team_name, str) or len(team_name) > 80:
        raise ConfigError(where, "team_name must be a text of up to 80 characters")
    return DeskSettings(
        locale=locale,
        timezone=timezone,
        teams=tuple(t.lower() for t in teams),
        note_prefixes=tuple(prefixes),
        keywords=keywords,
        first_response_targets=targets,
        business_hours=business,
        follow_ups=follow_ups,
        idle=idle,
        thanks_grace=thanks_grace,
        customer_transcripts=transcripts,
        snippets=snippets,
        anonymous_replies=_flag(data.get("anonymous_replies", False), where, "anonymous_replies"),
        team_name=team_name.strip(),
        routing=routing,
        categories=categories,
    )


def _names(value: Any, where: str, key: str) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise ConfigError(where, f"{key} must be a non-empty list of non-empty strings")
    return [v.strip() for v in value]


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(where, f"{key} must be a table, like [{key}]")
    return value


def _priority(name: str, where: str, key: str) -> Priority:
    try:
        return Priority(name)
    except ValueError:
        raise ConfigError(
            where, f"{key}.{name}: priorities are urgent, high, normal, low"
        ) from None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _business_hours(data: dict[str, Any], timezone: str, where: str) -> BusinessHours | None:
    """[business_hours] days, start, end, holidays; in SUPPORTBOT_TIMEZONE."""
    if not data:
        return None
    unknown = sorted(set(data) - {"days", "start", "end", "holidays"})
    if unknown:
        raise ConfigError(
            where, f"business_hours.{unknown[0]} is not a setting; use days, start, end, holidays"
        )
    days = _names(data.get("days", list(_DAYS[:5])), where, "business_hours.days")
    bad = [d for d in days if d.lower()[:3] not in _DAYS]
    if bad:
        raise ConfigError(where, f"business_hours.days: {bad[0]!r} is not a day; use mon..sun")
    start = _clock(data.get("start", "09:00"), where, "start")
    end = _clock(data.get("end", "17:00"), where, "end")
    if end <= start:
        raise ConfigError(
            where, f"business_hours: end {end:%H:%M} must be after start {start:%H:%M}"
        )
    holidays = []
    for text in data.get("holidays", []):
        try:
            holidays.append(date.fromisoformat(str(text)))
        except ValueError:
            raise ConfigError(
                where, f"business_hours.holidays: {text!r} is not a date like 2026-12-31"
            ) from None
    return BusinessHours(
        ZoneInfo(timezone),
        frozenset(_DAYS.index(d.lower()[:3]) for d in days),
        start,
        end,
        frozenset(holidays),
    )


def _clock(value: Any, where: str, key: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            where, f"business_hours.{key}: {value!r} is not a time like 09:00"
        ) from None


# --- the time-driven half: [followups], [idle] and DIGEST_TIME -------------------------


def _duration(value: Any, where: str, key: str) -> timedelta:
    try:
        return parse_duration(str(value))
    except BadDuration:
        raise ConfigError(where, f"{key} = {value!r} is not a duration like 4h, 3d or 1w") from None


def _flag(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(where, f"{key} must be true or false, not {value!r}")
    return value


def _only(data: dict[str, Any], where: str, table: str, known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            where, f"{table}.{unknown[0]} is not a setting; use {', '.join(sorted(known))}"
        )


def _follow_up_policy(data: dict[str, Any], where: str) -> FollowUpPolicy:
    """[followups] enabled, after_close, auto_checkin, and [followups.by_priority]."""
    default = FollowUpPolicy()
    if not data:
        return default
    _only(data, where, "followups", {"enabled", "after_close", "auto_checkin", "by_priority"})
    overrides: dict[Priority, timedelta] = {}
    by_priority = data.get("by_priority", {})
    if not isinstance(by_priority, dict):
        raise ConfigError(
            where, "followups.by_priority must be a table, like [followups.by_priority]"
        )
    for name, value in by_priority.items():
        priority = _priority(name, where, "followups.by_priority")
        overrides[priority] = _duration(value, where, f"followups.by_priority.{name}")
    after_close = data.get("after_close")
    return FollowUpPolicy(
        enabled=_flag(data.get("enabled", default.enabled), where, "followups.enabled"),
        after_close=(
            default.after_close
            if after_close is None
            else _duration(after_close, where, "followups.after_close")
        ),
        per_priority=overrides,
        auto_checkin=_flag(
            data.get("auto_checkin", default.auto_checkin), where, "followups.auto_checkin"
        ),
    )


def _idle_policy(data: dict[str, Any], where: str) -> IdlePolicy:
    """[idle] enabled, nudge_after, close_after."""
    default = IdlePolicy()
    if not data:
        return default
    _only(data, where, "idle", {"enabled", "nudge_after", "close_after"})
    nudge_text = str(data.get("nudge_after", format_duration(default.nudge_after)))
    close_text = str(data.get("close_after", format_duration(default.close_after)))
    nudge = _duration(nudge_text, where, "idle.nudge_after")
    close = _duration(close_text, where, "idle.close_after")
    if close <= nudge:
        raise ConfigError(
            where,
            f"idle.close_after ({close_text}) must be longer than "
            f"idle.nudge_after ({nudge_text}): the nudge comes first",
        )
    return IdlePolicy(
        _flag(data.get("enabled", default.enabled), where, "idle.enabled"), nudge, close
    )


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
