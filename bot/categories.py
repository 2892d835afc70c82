"""Intake categories: what a customer picks when they open a ticket from a form (Discord's
panel, Slack's "Contact support"): a label in each language, an emoji, up to five questions,
and where the ticket goes (a team, a priority, a first-response target of its own). A ticket
from a plain message is "general"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.durations import BadDuration, parse_duration
from bot.model import Priority

GENERAL = "general"
MAX_QUESTIONS = 5  # what a Discord form holds
QUESTION_CHARS = 45  # a Discord form field's label
_NAME_CHARS = 40


@dataclass(frozen=True)
class Category:
    name: str
    labels: dict[str, str] = field(default_factory=dict)  # locale -> label
    emoji: str = ""
    questions: tuple[dict[str, str], ...] = ()  # each: locale -> question
    team: str = ""
    priority: Priority | None = None
    first_response: timedelta | None = None

    def label(self, locale: str, fallback: str = "en") -> str:
        return self.labels.get(locale) or self.labels.get(fallback) or self.name

    def asked(self, locale: str) -> list[str]:
        return [q.get(locale) or q.get("en") or next(iter(q.values())) for q in self.questions]


class CategoryConfigError(ValueError):
    """What is wrong with one [categories.<name>] table, said so the operator can fix it."""


def categories_from(table: Any, teams: tuple[str, ...], locales: list[str]) -> dict[str, Category]:
    if not isinstance(table, dict):
        raise CategoryConfigError("categories must be a table of [categories.<name>] tables")
    found: dict[str, Category] = {}
    for name, data in table.items():
        key = f"categories.{name}"
        if not isinstance(data, dict) or not name.isidentifier() or len(name) > _NAME_CHARS:
            raise CategoryConfigError(f"{key}: a category is a table named with one word")
        unknown = sorted(
            set(data) - {"label", "emoji", "questions", "team", "priority", "first_response"}
        )
        if unknown:
            raise CategoryConfigError(f"{key}.{unknown[0]} is not a setting of a category")
        labels = _texts(data.get("label"), f"{key}.label", locales, limit=80)
        questions = data.get("questions", [])
        if not isinstance(questions, list) or len(questions) > MAX_QUESTIONS:
            raise CategoryConfigError(
                f"{key}.questions: at most {MAX_QUESTIONS} questions, as a list of tables"
            )
        asked = tuple(
            _texts(q, f"{key}.questions[{i}]", locales, limit=QUESTION_CHARS)
            for i, q in enumerate(questions)
        )
        team = str(data.get("team", "")).lower()
        if team and team not in teams:
            raise CategoryConfigError(f"{key}.team: no team {team!r}; teams are {', '.join(teams)}")
        found[name.lower()] = Category(
            name.lower(),
            labels,
            str(data.get("emoji", ""))[:8],
            asked,
            team,
            _priority(data.get("priority"), key),
            _target(data.get("first_response"), key),
        )
    return found


def _texts(value: Any, key: str, locales: list[str], limit: int) -> dict[str, str]:
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, dict) or not value:
        raise CategoryConfigError(f'{key} must give a text per language, like {{ en = "..." }}')
    for locale, text in value.items():
        if locale not in locales:
            raise CategoryConfigError(f"{key}.{locale}: the languages are {', '.join(locales)}")
        if not isinstance(text, str) or not text.strip() or len(text) > limit:
            raise CategoryConfigError(f"{key}.{locale} must be a text of 1 to {limit} characters")
    return {str(k): str(v).strip() for k, v in value.items()}


def _priority(value: Any, key: str) -> Priority | None:
    if value is None:
        return None
    try:
        return Priority(str(value).lower())
    except ValueError:
        raise CategoryConfigError(
            f"{key}.priority: {value!r} is not one of urgent, high, normal, low"
        ) from None


def _target(value: Any, key: str) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(str(value))
    except BadDuration:
        raise CategoryConfigError(
            f"{key}.first_response: {value!r} is not a duration like 30m or 2h"
        ) from None
