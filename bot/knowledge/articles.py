"""Articles: one Markdown file each, in one folder per locale (`kb/en/`, `kb/ja/`).

A file's stem is the article's id (the same id in every locale for the translations of one
article), its first `# ` heading is the title. An optional front matter block between `---`
lines carries two settings, and nothing else, so a typo is reported instead of ignored:

    ---
    tags: [billing, refund]
    url: https://help.example.com/refunds
    ---
    # Refunds
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("supportbot.knowledge")

_LOCALE = re.compile(r"^[a-z]{2,3}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TAG = re.compile(r"^[\w-]+$")


@dataclass(frozen=True)
class Article:
    id: str
    locale: str
    title: str
    body: str  # the Markdown after the title
    tags: tuple[str, ...] = ()
    url: str = ""
    path: Path | None = None

    @property
    def text(self) -> str:
        """What the article says, for a customer without a link to follow."""
        return self.body.strip()


class BadArticle(ValueError):
    """A file that cannot be an article; the message says why, for one log line."""


def parse_article(text: str, *, id: str, locale: str, path: Path | None = None) -> Article:
    lines = text.lstrip("\ufeff").splitlines()
    tags: tuple[str, ...] = ()
    url = ""
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise BadArticle("its front matter has no closing ---") from None
        tags, url = _front_matter(lines[1:end])
        lines = lines[end + 1 :]
    for at, line in enumerate(lines):
        if line.startswith("# ") and line[2:].strip():
            title = line[2:].strip()
            body = "\n".join(lines[at + 1 :]).strip("\n")
            return Article(id, locale, title, body, tags, url, path)
    raise BadArticle("it has no title (a first line like `# How to ...`)")


def _front_matter(lines: list[str]) -> tuple[tuple[str, ...], str]:
    tags: tuple[str, ...] = ()
    url = ""
    for number, line in enumerate(lines, start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not colon:
            raise BadArticle(f"front matter line {number} is not `key: value`")
        if key == "tags":
            if not (value.startswith("[") and value.endswith("]")):
                raise BadArticle(f"front matter line {number}: tags are written [a, b]")
            tags = tuple(t.strip().strip("'\"") for t in value[1:-1].split(",") if t.strip())
            if bad := [t for t in tags if not _TAG.match(t)]:
                raise BadArticle(f"front matter line {number}: {bad[0]!r} is not one word")
        elif key == "url":
            url = value.strip("'\"")
            if not url.startswith(("https://", "http://")):
                raise BadArticle(f"front matter line {number}: the url must start https://")
        else:
            raise BadArticle(f"front matter line {number}: {key!r} is unknown (tags, url)")
    return tags, url


def load_articles(root: Path, skipped: list[Path] | None = None) -> list[Article]:
    """Every article under `root`, sorted by locale and id; bad files are logged (one line
    each) and left out, and added to `skipped` when it is given."""
    articles: list[Article] = []
    for folder in sorted(p for p in _children(root) if p.is_dir() and _LOCALE.match(p.name)):
        for path in sorted(_children(folder)):
            if path.suffix.lower() != ".md" or not path.is_file():
                continue
            if article := read_article(path, folder.name):
                articles.append(article)
            elif skipped is not None:
                skipped.append(path)
    return articles


def read_article(path: Path, locale: str) -> Article | None:
    if not _ID.match(path.stem):
        log.warning("knowledge base: skipped %s: its name cannot be an article id", path)
        return None
    try:
        text = path.read_bytes().decode("utf-8")
        return parse_article(text, id=path.stem, locale=locale, path=path)
    except UnicodeDecodeError:
        log.warning("knowledge base: skipped %s: it is not UTF-8 text", path)
    except OSError as error:
        log.warning("knowledge base: skipped %s: cannot read it (%s)", path, error.strerror)
    except BadArticle as bad:
        log.warning("knowledge base: skipped %s: %s", path, bad)
    return None


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:  # a folder that vanished or cannot be listed holds no articles
        return []
