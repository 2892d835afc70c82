"""Text to search terms, for English and Japanese alike, with no dictionary to ship.

Latin script is split into words (stop words dropped, a light suffix stemmer). Japanese has no
spaces, so a run of Japanese is cut where the script changes (kanji, katakana, hiragana): a
katakana piece is a loanword and stays whole (ログイン), a kanji piece gives its overlapping
character pairs (二段階認証: 二段, 段階, 階認, 認証), a single kanji keeps the first kana of its
ending (消して: 消し), and hiragana pieces, mostly grammar (を, ています), are left out.
Phrases of the synonym table add one concept term, shared by both languages, so "sign in",
"log in" and "ログイン" meet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from bot.knowledge.synonyms import SYNONYMS

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶー]+")
_HIRAGANA = re.compile(r"^[\u3040-\u309f]+$")
_KATAKANA = re.compile(r"^[\u30a0-\u30ffー]+$")
_SCRIPT_CHANGE = re.compile(
    r"[\u3040-\u309f]+|[\u30a0-\u30ffー]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶ]+"
)

STOP_WORDS = frozenset(
    """a about after again all also am an and any are as at be been before being both but by
    can cannot could did do does doing don done for from get got had has have having he her
    here hi hello how i i'm if in into is it it's its just me more my no not now of on once
    only or other our out over own please same she should so some still such than thank thanks
    that the their them then there these they this those to too under until up very was we
    were what when where which while who why will with would you your yours keep keeps
    t s d ll m re ve isn't can't won't don't doesn't didn't i've i'd""".split()  # noqa: SIM905
)

_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


def normalise(text: str) -> str:
    """Full-width letters and digits to ASCII, half-width katakana to full, case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def stem(word: str) -> str:
    """A light stemmer, enough for `sync`/`syncing`/`synced`, `invite`/`invitation`: strip
    one ending, then a final e (so `notes`, `note` and `noted` all give `not`)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            if suffix in ("ed", "ing", "ings") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # stopped -> stop
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def words(text: str) -> list[str]:
    """The Latin-script words of normalised text, in order, stop words included."""
    return _WORD.findall(text.replace("’", "'"))


def japanese_terms(text: str) -> Iterable[str]:
    for run in _JAPANESE.findall(text):
        pieces = _SCRIPT_CHANGE.findall(run)
        for at, piece in enumerate(pieces):
            if _HIRAGANA.match(piece):
                continue
            if _KATAKANA.match(piece):
                yield piece  # a loanword, whole: ログイン, パスワード
            elif len(piece) > 1:
                yield from (piece[i : i + 2] for i in range(len(piece) - 1))
            elif at + 1 < len(pieces) and _HIRAGANA.match(pieces[at + 1]):
                yield piece + pieces[at + 1][0]  # a one-kanji verb keeps its ending: 消し, 来な
            else:
                yield piece


Segmenter = Callable[[str], Iterable[str]]


class Analyser:
    """Terms of a text. `segment` replaces the Japanese splitting (the benchmark tries
    morphological analysers that way); `synonyms=False` leaves the table out."""

    def __init__(self, *, synonyms: bool = True, segment: Segmenter | None = None) -> None:
        self.synonyms = _compile(SYNONYMS) if synonyms else []
        self.segment = segment or japanese_terms

    def terms(self, text: str, correct: Callable[[str], str] | None = None) -> list[str]:
        text = normalise(text)
        found = words(text)
        if correct is not None:
            found = [correct(w) for w in found]
        latin = [stem(w) for w in found if w not in STOP_WORDS]
        terms = latin + list(self.segment(text))
        if self.synonyms:
            stems = " " + " ".join(stem(w) for w in found) + " "
            terms += [concept for concept, match in self.synonyms if match(stems, text)]
        return terms


Matcher = Callable[[str, str], bool]


def _compile(table: dict[str, tuple[str, ...]]) -> list[tuple[str, Matcher]]:
    compiled: list[tuple[str, Matcher]] = []
    for concept, phrases in table.items():
        other = tuple(normalise(p) for p in phrases if _JAPANESE.search(p))
        latin = tuple(
            " " + " ".join(stem(w) for w in words(normalise(p))) + " "
            for p in phrases
            if not _JAPANESE.search(p)
        )
        compiled.append((f"~{concept}", _matcher(latin, other)))
    return compiled


def _matcher(latin: tuple[str, ...], other: tuple[str, ...]) -> Matcher:
    def match(stems: str, text: str) -> bool:
        return any(p in stems for p in latin) or any(p in text for p in other)

    return match
