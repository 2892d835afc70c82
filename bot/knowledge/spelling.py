"""Typo repair for Latin-script words: a word the knowledge base never uses becomes the one it
uses that is a single edit away (a letter missing, extra, wrong or swapped), so "pasword" and
"chnage" still find their articles. Words are looked up through their one-letter deletions,
which keeps it a dictionary lookup however large the vocabulary grows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

MIN_LENGTH = 4  # shorter words have too many neighbours to guess from


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Speller:
    def __init__(self, words: Iterable[str]) -> None:
        self._counts = Counter(w for w in words if not w.isdigit())
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        for word in self._counts:
            if len(word) >= MIN_LENGTH - 1:
                for key in _deletions(word) | {word}:
                    self._by_deletion[key].add(word)

    def correct(self, word: str) -> str:
        if word in self._counts or len(word) < MIN_LENGTH or not word.isalpha():
            return word
        candidates: set[str] = set()
        for key in _deletions(word) | {word}:
            candidates |= self._by_deletion.get(key, set())
        if not candidates:
            return word
        return max(sorted(candidates), key=lambda w: self._counts[w])
