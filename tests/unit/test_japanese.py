"""Japanese reads as a native speaker writes it: full-width punctuation, no English leftovers.

Checked on what the templates and the catalog write themselves (variables, code spans and
link targets aside), and on what a Japanese desk renders from the desk's own values."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta

import pytest

from bot.rendering import TEMPLATE_DIR, Renderer
from tests.unit.conftest import make_world

JA = TEMPLATE_DIR / "ja"
# template syntax, code spans (what an agent types), fenced tables, and a link's target
_NOT_PROSE = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|^```[\s\S]*?^```|`[^`\n]*`|\]\([^)\n]*\)", re.MULTILINE
)
_HALF_WIDTH = re.compile(r"[?!()]|(?<!\d):|:(?!\d)")
_ENGLISH = re.compile(r"[A-Za-z]{2,}")
_ALLOWED = {"DM", "UTC", "JST"}  # written in Latin letters in Japanese too


# a page's markup and style sheet are code, not prose
_MARKUP = re.compile(r"<style>[\s\S]*?</style>|<[^>]*>")


def _prose(source: str) -> str:
    return _MARKUP.sub(" ", _NOT_PROSE.sub(" ", source))


def _catalog() -> dict[str, str]:
    return {k: str(v) for k, v in tomllib.loads((JA / "messages.toml").read_text("utf-8")).items()}


def _slips(text: str) -> list[str]:
    half = _HALF_WIDTH.findall(text)
    english = [w for w in _ENGLISH.findall(text) if w not in _ALLOWED]
    return half + english


@pytest.mark.parametrize("key", sorted(_catalog()))
def test_each_catalog_text_is_written_in_japanese(key: str) -> None:
    assert _slips(_prose(_catalog()[key])) == [], _catalog()[key]


@pytest.mark.parametrize("name", sorted(str(p.relative_to(JA)) for p in JA.rglob("*.j2")))
def test_each_template_is_written_in_japanese(name: str) -> None:
    source = (JA / name).read_text("utf-8")
    assert _slips(_prose(source)) == [], source


def test_the_checks_catch_the_slips_they_are_for() -> None:
    assert _slips(_prose("お困りですか?(例: 3件)")) == ["?", "(", ":", ")"]
    assert _slips(_prose("チケット 2 件(open)")) == ["(", ")", "open"]
    assert _slips(_prose("経過 10m")) == []  # "m" alone: see the durations below
    assert _slips(_prose("`/ticket list` で確認できます。時刻 10:30")) == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (timedelta(minutes=10), "10分"),
        (timedelta(hours=2, minutes=30), "2時間30分"),
        (timedelta(days=3), "3日"),
        (timedelta(days=1, hours=4, minutes=5), "1日4時間"),
    ],
)
def test_lengths_of_time_are_said_in_japanese(value: timedelta, said: str) -> None:
    assert Renderer().span("ja", value) == said


async def test_a_japanese_desk_shows_lists_and_schedules_in_japanese() -> None:
    world = make_world(locale="ja")
    await world.customer_says("ログインできません", locale="ja-JP")
    await world.staff_says("/ticket claim #1")
    world.clock.advance(timedelta(hours=2, minutes=30))
    listed = await world.staff_says("/ticket list mine")
    assert listed.text.startswith("**あなたが担当中のチケット（1 件）**")
    assert "（bob、作成から2時間30分）" in listed.text
    assert (await world.staff_says("/ticket list escalated")).text == (
        "エスカレーション中のチケットはありません。"
    )
    scheduled = await world.staff_says("/ticket followup #1 in 3d 電話で確認")
    assert scheduled.text == "#1 のフォローアップを3日後に設定しました。"
    shown = (await world.staff_says("/ticket show #1")).text
    assert "Alice さんがチケットを作成しました（優先度：通常）。" in shown
    assert "bob さんがチケットを担当しました。" in shown
    assert "のフォローアップを設定しました：電話で確認。" in shown
    for text in (listed.text, scheduled.text, shown):
        prose = _prose(text).replace("Alice", "").replace("bob", "").replace("test", "")  # names
        assert _slips(prose) == [], text
