"""The desk's structured settings, from the TOML file SUPPORTBOT_CONFIG names: teams, keywords,
response targets, business hours, follow-ups, idle tickets, snippets, routing, categories.
Every problem names the file and the setting; all of a file's problems are found in one look."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import date, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessHours
from bot.categories import CategoryConfigError, categories_from
from bot.config_errors import ConfigError, Problems
from bot.durations import BadDuration, format_duration, parse_duration
from bot.model import Priority
from bot.rendering import available_locales
from bot.routing_config import RoutingConfigError, routing_from
from bot.saved_replies import SnippetConfigError, snippets_from
from bot.settings import DeskSettings, FollowUpPolicy, IdlePolicy

_DESK = DeskSettings()
T = TypeVar("T")


def read_toml(path: str) -> dict[str, Any]:
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


def desk_settings(
    data: dict[str, Any], locale: str, timezone: str, path: str, problems: Problems
) -> DeskSettings:
    """The file's settings over the defaults; a refused one keeps its default and joins
    `problems`, so that one look at the file names all of them."""
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
    for name in sorted(set(data) - known):
        problems.found.append(
            ConfigError(where, f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
        )
    teams = problems.read(
        lambda: [t.lower() for t in _names(data.get("teams", list(_DESK.teams)), where, "teams")],
        list(_DESK.teams),
    )
    prefixes = problems.read(
        lambda: _names(
            data.get("note_prefixes", list(_DESK.note_prefixes)), where, "note_prefixes"
        ),
        list(_DESK.note_prefixes),
    )
    keywords = dict(_DESK.keywords)
    none: dict[str, Any] = {}  # a table refused as a whole adds nothing
    for name, words in problems.read(lambda: _table(data, "keywords", where), none).items():
        problems.read(partial(_keyword, keywords, name, words, where), None)
    targets = dict(_DESK.first_response_targets)
    for name, text in problems.read(
        lambda: _table(data, "first_response_targets", where), none
    ).items():
        problems.read(partial(_target, targets, name, text, where), None)

    def under(parse: Callable[[], T]) -> Callable[[], T]:
        def read() -> T:  # a table's parser speaks of the table; the file is named here
            try:
                return parse()
            except (SnippetConfigError, RoutingConfigError, CategoryConfigError) as error:
                raise ConfigError(where, str(error)) from None

        return read

    def team_name() -> str:
        name = data.get("team_name", "")
        if not isinstance(name, str) or len(name) > 80:
            raise ConfigError(where, "team_name must be a text of up to 80 characters")
        return name.strip()

    return DeskSettings(
        locale=locale,
        timezone=timezone,
        teams=tuple(teams),
        note_prefixes=tuple(prefixes),
        keywords=keywords,
        first_response_targets=targets,
        business_hours=problems.read(
            lambda: _business_hours(_table(data, "business_hours", where), timezone, where),
            _DESK.business_hours,
        ),
        follow_ups=problems.read(
            lambda: _follow_up_policy(_table(data, "followups", where), where), _DESK.follow_ups
        ),
        idle=problems.read(lambda: _idle_policy(_table(data, "idle", where), where), _DESK.idle),
        thanks_grace=problems.read(
            lambda: _grace(data.get("thanks_grace"), where), _DESK.thanks_grace
        ),
        customer_transcripts=problems.read(
            lambda: _flag(data.get("customer_transcripts", False), where, "customer_transcripts"),
            _DESK.customer_transcripts,
        ),
        snippets=problems.read(
            under(lambda: snippets_from(data.get("snippets", {}))), _DESK.snippets
        ),
        anonymous_replies=problems.read(
            lambda: _flag(data.get("anonymous_replies", False), where, "anonymous_replies"),
            _DESK.anonymous_replies,
        ),
        team_name=problems.read(team_name, _DESK.team_name),
        routing=problems.read(
            under(lambda: routing_from(data.get("routing", {}), tuple(teams))), _DESK.routing
        ),
        categories=problems.read(
            under(
                lambda: categories_from(
                    data.get("categories", {}), tuple(teams), available_locales()
                )
            ),
            _DESK.categories,
        ),
    )


def _keyword(into: dict[Priority, tuple[str, ...]], name: str, words: Any, where: str) -> None:
    into[_priority(name, where, "keywords")] = tuple(_names(words, where, f"keywords.{name}"))


def _target(into: dict[Priority, timedelta], name: str, text: Any, where: str) -> None:
    priority = _priority(name, where, "first_response_targets")
    try:
        into[priority] = parse_duration(str(text))
    except BadDuration:
        raise ConfigError(
            where, f"first_response_targets.{name} = {text!r} is not a duration like 15m, 4h or 1d"
        ) from None


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
