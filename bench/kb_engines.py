"""The search engines bench/kb_search.py compares, each behind one signature: a question and
a locale in, the best articles out as (id, score, confidence), best first."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.articles import Article, load_articles
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.text import Analyser, Segmenter, normalise

Result = tuple[str, float, float]  # article id, score, confidence (0..1)
Search = Callable[[str, str, int], list[Result]]


@dataclass(frozen=True)
class Engine:
    name: str
    search: Search
    note: str = ""


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaffー々]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaffー々]+")


def cjk_bigrams(text: str) -> Iterable[str]:
    """The classic dictionary-free split: every pair of neighbouring Japanese characters."""
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            yield run
        yield from (run[i : i + 2] for i in range(len(run) - 1))


def _ours(root: Path, **options: object) -> Search:
    spelling = bool(options.pop("spelling", True))
    kb = KnowledgeBase(root, analyser=Analyser(**options), spelling=spelling)  # type: ignore[arg-type]

    def search(text: str, locale: str, limit: int) -> list[Result]:
        return [(h.article.id, h.score, h.confidence) for h in kb.search(text, locale, limit)]

    return search


def _trigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for piece in re.findall(r"[a-z0-9]+|" + _CJK_RUN.pattern, normalise(text)):
        grams |= {piece[i : i + 3] for i in range(len(piece) - 2)}
    return grams


def fts5_trigram(root: Path) -> Search:
    """SQLite's own full-text search with its trigram tokenizer (SQLite 3.34 and later); the
    question becomes an OR of its three-character pieces, ranked by FTS5's bm25()."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE kb USING fts5(id, locale, title, body, tokenize='trigram')")
    articles = load_articles(root)
    db.executemany(
        "INSERT INTO kb VALUES (?, ?, ?, ?)",
        [(a.id, a.locale, normalise(a.title), normalise(_text(a))) for a in articles],
    )
    texts = {(a.locale, a.id): normalise(f"{a.title}\n{_text(a)}") for a in articles}

    def search(text: str, locale: str, limit: int) -> list[Result]:
        grams = _trigrams(text)
        if not grams:
            return []
        query = " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))
        rows = db.execute(
            "SELECT id, -bm25(kb, 0, 0, 2.0, 1.0) FROM kb WHERE kb MATCH ? AND locale = ? "
            "ORDER BY bm25(kb, 0, 0, 2.0, 1.0) LIMIT ?",
            (f"{{title body}}: ({query})", locale, limit),
        ).fetchall()
        # confidence: the share of the question's trigrams the article holds
        return [(i, s, sum(g in texts[locale, i] for g in grams) / len(grams)) for i, s in rows]

    return search


def _text(article: Article) -> str:
    return " ".join(article.tags) + "\n" + article.body


def _segmenter(name: str) -> Segmenter | None:
    """A morphological analyser, when its package is installed (none is a dependency)."""
    if name == "tinysegmenter" and importlib.util.find_spec("tinysegmenter"):
        import tinysegmenter  # type: ignore[import-not-found, unused-ignore]

        tiny = tinysegmenter.TinySegmenter()
        return lambda text: _content(tiny.tokenize(t) for t in _CJK_RUN.findall(text))
    if name == "janome" and importlib.util.find_spec("janome"):
        from janome.tokenizer import Tokenizer  # type: ignore[import-not-found, unused-ignore]

        janome = Tokenizer(wakati=True)
        return lambda text: _content(janome.tokenize(t) for t in _CJK_RUN.findall(text))
    if name == "sudachipy" and importlib.util.find_spec("sudachipy"):
        from sudachipy import Dictionary  # type: ignore[import-not-found, unused-ignore]

        sudachi = Dictionary(dict="small").create()
        return lambda text: _content(
            (m.normalized_form() for m in sudachi.tokenize(t)) for t in _CJK_RUN.findall(text)
        )
    return None


def _content(pieces: Iterable[Iterable[str]]) -> list[str]:
    """Words with a kanji or katakana in them: the hiragana ones are grammar."""
    return [w for words in pieces for w in words if re.search(r"[\u30a0-\u9fff]", w)]


def engines(root: Path) -> list[Engine]:
    found = [
        Engine("fts5-trigram", fts5_trigram(root), "SQLite FTS5, trigram tokenizer"),
        Engine(
            "bm25-bigram",
            _ours(root, synonyms=False, segment=cjk_bigrams, spelling=False),
            "every pair of Japanese characters, English words",
        ),
        Engine(
            "bm25-script",
            _ours(root, synonyms=False, spelling=False),
            "kanji/katakana pairs cut at script changes, no hiragana",
        ),
        Engine(
            "bm25-script+syn",
            _ours(root, spelling=False),
            "the same with the synonym table",
        ),
        Engine(
            "bm25-script+syn+spell",
            _ours(root),
            "the same with typo repair (the desk's engine)",
        ),
    ]
    segmenters = {name: _segmenter(name) for name in ("tinysegmenter", "janome", "sudachipy")}
    found += [
        Engine(f"bm25-{name}+syn+spell", _ours(root, segment=segment))
        for name, segment in segmenters.items()
        if segment is not None
    ]
    return found
