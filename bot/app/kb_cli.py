"""`supportbot kb search|list|reindex`: the knowledge base, from the terminal.

The knowledge base is the folder SUPPORTBOT_KB_DIR; by default `kb/` beside the SQLite
database file, or `kb/` in the working directory when the database is PostgreSQL (or SQLite
in memory), which has no folder of its own on this machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.config import Config
from bot.knowledge import KnowledgeBase
from storage.engine import in_memory, resolve_url

KB_DIR = "SUPPORTBOT_KB_DIR"


def add_kb_commands(sub: Any) -> None:
    """Add `kb` and its actions to the `supportbot` command's sub-commands."""
    kb = sub.add_parser("kb", help="the knowledge base: search, list or re-read its articles")
    actions = kb.add_subparsers(required=True, metavar="action")
    search = actions.add_parser("search", help="the articles that best answer a question")
    search.add_argument("text", help="the question, as a customer would write it")
    search.add_argument("--locale", help="the articles' language (default: the desk's)")
    search.add_argument("--limit", type=_positive, default=5, help="at most this many (5)")
    search.set_defaults(func=_search)
    actions.add_parser(
        "list", help="every article per language, and which lack a translation"
    ).set_defaults(func=_list)
    actions.add_parser(
        "reindex", help="read every article now and report the files that cannot be read"
    ).set_defaults(func=_reindex)


def kb_dir(config: Config) -> Path:
    """Where the knowledge base of this configuration lives (see the module docstring)."""
    if chosen := config.env.get(KB_DIR, "").strip():
        return Path(chosen).expanduser()
    url = resolve_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not in_memory(url):
        return Path(url.database).expanduser().parent / "kb"
    return Path("kb")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 up")
    return int(text)


def _knowledge_base(config: Config) -> KnowledgeBase | None:
    knowledge = logging.getLogger("supportbot.knowledge")
    if knowledge.getEffectiveLevel() >= logging.INFO:
        knowledge.setLevel(logging.WARNING)  # "indexed N articles" is the command's own output
    root = kb_dir(config)
    if not root.is_dir():
        _tell(
            f"supportbot: no knowledge base at {root}: create it with one folder per language "
            f"(en/, ja/) of Markdown articles, or set {KB_DIR}",
            sys.stderr,
        )
        return None
    return KnowledgeBase(root)


async def _search(config: Config, args: argparse.Namespace) -> int:
    kb = _knowledge_base(config)
    if kb is None:
        return 2
    locale = (args.locale or config.desk.locale).strip().lower()
    if locale not in kb.locales():
        have = ", ".join(kb.locales()) or "none"
        _tell(f"supportbot: no articles in {locale!r} (the knowledge base has: {have})", sys.stderr)
        return 2
    hits = kb.search(args.text, locale, args.limit)
    if not hits:
        _tell("No article matches.", sys.stderr)
        return 0
    width = max(len(h.article.id) for h in hits)
    for hit in hits:
        _tell(f"{hit.article.id:<{width}}  {hit.confidence:.2f}  {hit.article.title}")
    offered = kb.confident(hits)
    _tell(
        f"A customer would be offered {offered[0].article.id}."
        if offered
        else f"A customer would be offered none (below {kb.threshold:.2f}).",
        sys.stderr,
    )
    return 0


async def _list(config: Config, args: argparse.Namespace) -> int:
    kb = _knowledge_base(config)
    if kb is None:
        return 2
    locales = kb.locales()
    if not any(kb.articles(locale) for locale in locales):
        root = kb_dir(config)
        _tell(f"No articles in {root}: add Markdown files under {root / 'en'}, {root / 'ja'}, ...")
        return 0
    ids = {locale: {a.id for a in kb.articles(locale)} for locale in locales}
    for locale in locales:
        articles = kb.articles(locale)
        _tell(f"{locale}: {_count(len(articles), 'article')}")
        width = max(len(a.id) for a in articles)
        for article in articles:
            _tell(f"  {article.id:<{width}}  {article.title}")
    missing = [(locale, sorted(set().union(*ids.values()) - mine)) for locale, mine in ids.items()]
    if any(lacking for _, lacking in missing):
        _tell("Without a translation:")
        for locale, lacking in missing:
            if lacking:
                _tell(f"  {locale} lacks {', '.join(lacking)}")
    elif len(locales) > 1:
        _tell("Every article is in every language.")
    return 0


async def _reindex(config: Config, args: argparse.Namespace) -> int:
    kb = _knowledge_base(config)
    if kb is None:
        return 2
    articles = kb.reindex()
    counts = [f"{sum(a.locale == x for a in articles)} in {x}" for x in kb.locales()]
    line = f"Indexed {_count(len(articles), 'article')} from {kb.root}"
    line += f" ({', '.join(counts)})" if counts else ""
    if kb.skipped:
        line += f"; skipped {_count(len(kb.skipped), 'file')} (see above)"
    _tell(line + ".")
    return 1 if kb.skipped else 0


def _count(n: int, one: str) -> str:
    return f"{n:,} {one if n == 1 else one + 's'}"


def _tell(line: str, stream: TextIO | None = None) -> None:
    """A line for the operator (the terminal is this command's user interface)."""
    (stream or sys.stdout).write(line + "\n")
