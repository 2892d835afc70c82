"""Knowledge-base articles: parsing, bad files, and re-reading the folder when it changes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.knowledge import BadArticle, KnowledgeBase, load_articles, parse_article

REFUND = """\
---
tags: [billing, refund]
url: https://help.example.com/refunds
---
# Refunds

Ask within 14 days.
"""


def _write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def test_the_stem_is_the_id_the_first_heading_the_title_front_matter_tags_and_url() -> None:
    article = parse_article(REFUND, id="refund-policy", locale="en")
    assert article.id == "refund-policy"
    assert article.locale == "en"
    assert article.title == "Refunds"
    assert article.tags == ("billing", "refund")
    assert article.url == "https://help.example.com/refunds"
    assert article.text == "Ask within 14 days."


def test_front_matter_is_optional_and_text_before_the_title_is_not_the_title() -> None:
    text = (
        "\ufeffSome intro\n## Not this\n# ログインできないとき\n\nまずはメールをご確認ください。\n"
    )
    article = parse_article(text, id="cannot-sign-in", locale="ja")
    assert article.title == "ログインできないとき"
    assert article.tags == ()
    assert article.url == ""
    assert article.text == "まずはメールをご確認ください。"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Just some words\n", "no title"),
        ("#\n# \n", "no title"),
        ("---\ntags: [a]\n# Title\n", "no closing ---"),
        ("---\ncolour: blue\n---\n# Title\n", "'colour' is unknown"),
        ("---\ntags: a, b\n---\n# Title\n", "tags are written [a, b]"),
        ("---\ntags: [two words]\n---\n# Title\n", "'two words' is not one word"),
        ("---\nurl: help.example.com\n---\n# Title\n", "must start https://"),
        ("---\njust text\n---\n# Title\n", "is not `key: value`"),
    ],
)
def test_a_file_that_cannot_be_an_article_says_why(text: str, why: str) -> None:
    with pytest.raises(BadArticle, match=why.replace("[", r"\[").replace("]", r"\]")):
        parse_article(text, id="x", locale="en")


def test_bad_files_are_skipped_with_one_log_line_each_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "en/refund-policy.md", REFUND)
    untitled = _write(tmp_path, "en/untitled.md", "No heading here.\n")
    latin1 = _write(tmp_path, "ja/latin1.md", "# Café\n".encode("latin-1"))
    locked = _write(tmp_path, "ja/locked.md", "# Locked\n")
    _write(tmp_path, "en/notes.txt", "# Not Markdown\n")  # not an article: no complaint
    _write(tmp_path, "drafts/draft.md", "# A draft\n")  # not a locale folder
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    skipped: list[Path] = []
    with caplog.at_level(logging.WARNING, "supportbot.knowledge"):
        articles = load_articles(tmp_path, skipped)
    assert [(a.locale, a.id) for a in articles] == [("en", "refund-policy")]
    assert sorted(skipped) == sorted([untitled, latin1, locked])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines == [
        f"knowledge base: skipped {untitled}: it has no title (a first line like `# How to ...`)",
        f"knowledge base: skipped {latin1}: it is not UTF-8 text",
        f"knowledge base: skipped {locked}: cannot read it (Permission denied)",
    ]


def test_a_search_sees_files_added_changed_and_removed_since_the_last(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    assert kb.search("refund", "en") == []  # no folder yet: an empty knowledge base
    assert kb.locales() == []
    path = _write(tmp_path, "kb/en/refund-policy.md", REFUND)
    assert [h.article.id for h in kb.search("refund", "en")] == ["refund-policy"]

    path.write_text(REFUND.replace("# Refunds", "# Money back"), "utf-8")
    stat = path.stat()  # the same size in the same second must still count as a change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))
    assert kb.search("refund", "en")[0].article.title == "Money back"

    _write(tmp_path, "kb/ja/refund-policy.md", "# 返金について\n\n14日以内にご連絡ください。\n")
    assert [h.article.title for h in kb.search("返金", "ja")] == ["返金について"]
    assert kb.locales() == ["en", "ja"]

    path.unlink()
    assert kb.search("refund", "en") == []
    assert [a.id for a in kb.articles()] == ["refund-policy"]  # the Japanese one


def test_reindex_reports_the_skipped_files(tmp_path: Path) -> None:
    _write(tmp_path, "en/refund-policy.md", REFUND)
    bad = _write(tmp_path, "en/bad.md", b"\xff\xfe# x\n")
    kb = KnowledgeBase(tmp_path)
    assert [a.id for a in kb.reindex()] == ["refund-policy"]
    assert kb.skipped == [bad]
    assert kb.refresh() is False  # nothing changed since
