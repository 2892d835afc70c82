"""Jinja2 templates in neutral Markdown, one folder per locale; adapters render for their
platform. Customer text only ever enters as a variable, never as template source."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from bot.durations import format_duration

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_LOCALE = "en"


def available_locales(root: Path = TEMPLATE_DIR) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


class Renderer:
    def __init__(self, root: Path = TEMPLATE_DIR, default_locale: str = DEFAULT_LOCALE) -> None:
        self.root = root
        self.locales = available_locales(root)
        self.default_locale = self.pick_locale(default_locale)
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(root)),
            undefined=jinja2.StrictUndefined,
            # neutral Markdown, which each adapter escapes for its platform; HTML escapes here
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html.j2",), default_for_string=False, default=False
            ),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the code; no stat() per message
        )
        self._env.filters["localtime"] = local_time
        self._env.filters["compact"] = _compact
        self._env.filters["percent"] = _percent
        self._env.filters["score"] = _score
        self._catalogs: dict[str, dict[str, str]] = {}
        # each message compiled when first used: a whole catalog is some 300 templates,
        # a tenth of a second that the first customer in a language would wait for
        self._entries: dict[tuple[str, str], jinja2.Template | str] = {}

    def pick_locale(self, wanted: str | None) -> str:
        """`ja-JP`, `ja_JP` and `ja` all mean ja; anything we have no templates for means en."""
        if wanted:
            base = wanted.replace("_", "-").split("-")[0].lower()
            if base in self.locales:
                return base
        return getattr(self, "default_locale", DEFAULT_LOCALE)

    def render(self, locale: str, name: str, **variables: Any) -> str:
        template = self._env.get_template(f"{self.pick_locale(locale)}/{name}")
        return template.render(
            t=self._translator(locale), span=self._spanner(locale), **variables
        ).strip()

    def text(self, locale: str, key: str, **variables: Any) -> str:
        """A short message from the locale's catalog (messages.toml)."""
        entry = self._entry(self.pick_locale(locale), key)
        if isinstance(entry, str):
            return entry
        return entry.render(
            t=self._translator(locale), span=self._spanner(locale), **variables
        ).strip()

    def keys(self, locale: str) -> set[str]:
        return set(self._catalog(self.pick_locale(locale)))

    def duration(self, locale: str, value: timedelta, business: bool = True) -> str:
        """A response target reads in business days; other waits in calendar days."""
        minutes = int(value.total_seconds() // 60)
        if minutes % 1440 == 0 and minutes:
            key = "unit_days" if business else "unit_calendar_days"
            return self.text(locale, key, n=minutes // 1440)
        if minutes % 60 == 0 and minutes:
            return self.text(locale, "unit_hours", n=minutes // 60)
        if minutes < 60:
            return self.text(locale, "unit_minutes", n=minutes)
        return self.span(locale, value)  # 2h30m reads "2 hours 30 minutes", not "150 minutes"

    def moment(self, locale: str, at: datetime, tz: str) -> str:
        """A day and time as people write them ("Monday 8 December, 09:00 JST",
        "12月8日（月）09:00（JST）"), for a moment days ahead."""
        local = at.astimezone(ZoneInfo(tz))
        return self.text(
            locale,
            "moment",
            weekday=self.text(locale, "weekdays").split(",")[local.weekday()],
            month=self.text(locale, "months").split(",")[local.month - 1],
            day=local.day,
            time=local.strftime("%H:%M"),
            zone=local.strftime("%Z"),
        )

    def span(self, locale: str, value: timedelta | None) -> str:
        """A length of time as a person says it, in its two largest units ("1 day 4 hours",
        "1日4時間"; the minutes of a day and more are left out); "–" when there is none."""
        if value is None:
            return "–"
        minutes = max(int(value.total_seconds() // 60), 0)
        days, rest = divmod(minutes, 1440)
        hours, minutes = divmod(rest, 60)
        parts = [
            self.text(locale, key, n=n)
            for key, n in (
                ("unit_calendar_days", days),
                ("unit_hours", hours),
                ("unit_minutes", minutes),
            )
            if n
        ]
        if not parts:
            return self.text(locale, "unit_under_a_minute")
        if len(parts) == 1:
            return parts[0]
        return self.text(locale, "unit_pair", first=parts[0], second=parts[1])

    def _spanner(self, locale: str) -> Any:
        def span(value: timedelta | None) -> str:
            return self.span(locale, value)

        return span

    def _translator(self, locale: str) -> Any:
        def t(key: str, **variables: Any) -> str:
            return self.text(locale, key, **variables)

        return t

    def _entry(self, locale: str, key: str) -> jinja2.Template | str:
        entry = self._entries.get((locale, key))
        if entry is None:
            source = self._catalog(locale)[key]
            # plain labels ("Claim", "Open") skip Jinja: they are most of what a ticket renders
            entry = self._env.from_string(source) if "{" in source else source.strip()
            self._entries[(locale, key)] = entry
        return entry

    def _catalog(self, locale: str) -> dict[str, str]:
        if locale not in self._catalogs:
            self._catalogs[locale] = _load_catalog(self.root / locale / "messages.toml")
        return self._catalogs[locale]


def _compact(value: timedelta | None) -> str:
    """For a fixed-width table: 2h30m."""
    return "–" if value is None else format_duration(value)


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def local_time(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


@lru_cache(maxsize=8)
def _load_catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        return {str(k): str(v) for k, v in tomllib.load(fh).items()}
