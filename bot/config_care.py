"""Configuration of the time-driven half: [followups] and [idle] in the TOML file, and
DIGEST_TIME. Problems name the setting and what to write instead."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from bot.durations import BadDuration, parse_duration
from bot.model import Priority
from bot.settings import FollowUpPolicy, IdlePolicy


class CareConfigError(ValueError):
    """A bad care setting; bot.config turns it into a ConfigError naming where it was."""


def _duration(value: Any, key: str) -> timedelta:
    try:
        return parse_duration(str(value))
    except BadDuration:
        raise CareConfigError(f"{key} = {value!r} is not a duration like 4h, 3d or 1w") from None


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise CareConfigError(f"{key} must be true or false, not {value!r}")
    return value


def _only(data: dict[str, Any], table: str, known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise CareConfigError(
            f"{table}.{unknown[0]} is not a setting; use {', '.join(sorted(known))}"
        )


def follow_up_policy(data: dict[str, Any]) -> FollowUpPolicy:
    """[followups] enabled, after_close, auto_checkin, and [followups.by_priority]."""
    if not data:
        return FollowUpPolicy()
    _only(data, "followups", {"enabled", "after_close", "auto_checkin", "by_priority"})
    overrides: dict[Priority, timedelta] = {}
    by_priority = data.get("by_priority", {})
    if not isinstance(by_priority, dict):
        raise CareConfigError("followups.by_priority must be a table, like [followups.by_priority]")
    for name, value in by_priority.items():
        try:
            priority = Priority(name)
        except ValueError:
            raise CareConfigError(
                f"followups.by_priority.{name}: priorities are urgent, high, normal, low"
            ) from None
        overrides[priority] = _duration(value, f"followups.by_priority.{name}")
    return FollowUpPolicy(
        enabled=_flag(data.get("enabled", True), "followups.enabled"),
        after_close=_duration(data.get("after_close", "3d"), "followups.after_close"),
        per_priority=overrides,
        auto_checkin=_flag(data.get("auto_checkin", False), "followups.auto_checkin"),
    )


def idle_policy(data: dict[str, Any]) -> IdlePolicy:
    """[idle] enabled, nudge_after, close_after."""
    if not data:
        return IdlePolicy()
    _only(data, "idle", {"enabled", "nudge_after", "close_after"})
    nudge = _duration(data.get("nudge_after", "2d"), "idle.nudge_after")
    close = _duration(data.get("close_after", "5d"), "idle.close_after")
    if close <= nudge:
        raise CareConfigError(
            f"idle.close_after ({data.get('close_after', '5d')}) must be longer than "
            f"idle.nudge_after ({data.get('nudge_after', '2d')}): the nudge comes first"
        )
    return IdlePolicy(_flag(data.get("enabled", True), "idle.enabled"), nudge, close)


def digest_time(text: str) -> time:
    """HH:MM on a 24-hour clock."""
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise CareConfigError(f"{text!r} is not a time; write it like 09:00 or 17:30") from None
    if len(text) != 5 or parsed.second or parsed.tzinfo:
        raise CareConfigError(f"{text!r} is not a time; write it like 09:00 or 17:30")
    return parsed
