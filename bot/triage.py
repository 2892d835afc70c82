"""Priority triage on intake: keyword rules raise a new ticket's priority."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from bot.model import Priority

DEFAULT_KEYWORDS: dict[Priority, tuple[str, ...]] = {
    Priority.URGENT: ("urgent", "outage", "down", "stolen", "hacked", "至急", "緊急", "盗まれ"),
    Priority.HIGH: (
        "refund",
        "charged twice",
        "cannot log in",
        "can't log in",
        "返金",
        "ログインできない",
    ),
}


def _fold(text: str) -> str:
    # NFKC folds full-width Latin and half-width kana, so ＵＲＧＥＮＴ matches urgent
    return unicodedata.normalize("NFKC", text).casefold()


class Triage:
    def __init__(self, keywords: Mapping[Priority, Sequence[str]] | None = None) -> None:
        rules = keywords if keywords is not None else DEFAULT_KEYWORDS
        self._rules = sorted(
            ((priority, tuple(_fold(k) for k in words)) for priority, words in rules.items()),
            key=lambda rule: rule[0].rank,
        )

    def priority_for(self, text: str) -> tuple[Priority, str]:
        """The highest priority whose keyword appears, with the keyword that matched."""
        folded = _fold(text)
        for priority, words in self._rules:
            for word in words:
                if _matches(folded, word):
                    return priority, word
        return Priority.NORMAL, ""


def _matches(text: str, word: str) -> bool:
    # Latin keywords match whole words ("down" but not "download"); CJK has no spaces
    if not word.isascii():
        return word in text
    start = text.find(word)
    while start != -1:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(word, start + 1)
    return False
