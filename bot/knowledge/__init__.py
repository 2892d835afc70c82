"""The knowledge base: help articles in Markdown, one folder per language, searched offline in
English and Japanese with no dictionary or model to download.

    kb = KnowledgeBase(Path("kb"))            # kb/en/*.md, kb/ja/*.md; read on first use
    hits = kb.search("I can't log in", "en")  # list[Hit], best first (3 by default)
    hits[0].article.id, hits[0].article.title, hits[0].article.url, hits[0].article.text
    hits[0].confidence                        # 0..1, comparable across questions
    kb.confident(hits)                        # what to offer a customer unasked: [] or [best]
    kb.articles("ja"), kb.locales(), kb.reindex()

Articles (bot.knowledge.articles): a file's stem is its id, the same in every language; its
first `# ` heading is its title; optional front matter carries `tags: [a, b]` and `url:`.
Files that cannot be articles are skipped with one log line each.

Search (bot.knowledge.text, .index): BM25 over English words and Japanese pieces cut at
script changes, with a small bilingual synonym table (bot.knowledge.synonyms) and typo repair
(bot.knowledge.spelling). `search` re-reads the folder first when a file changed (a `stat`
per file). The engine and the threshold of `confident` were chosen by measurement on the
labelled messages of tests/fixtures (bench/kb_search.py), where the database's full-text
search (SQLite FTS5 with its trigram tokenizer), character bigrams and three Japanese
morphological analysers were the other candidates.

The core knows no platform and no storage: it reads files and keeps its index in memory.
"""

from bot.knowledge.articles import Article, BadArticle, load_articles, parse_article
from bot.knowledge.base import THRESHOLD, Hit, KnowledgeBase

__all__ = [
    "THRESHOLD",
    "Article",
    "BadArticle",
    "Hit",
    "KnowledgeBase",
    "load_articles",
    "parse_article",
]
