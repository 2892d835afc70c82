"""`supportbot kb search|list|reindex` through the real command, on the fixture articles."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.test_cli import run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"


def _kb(tmp_path: Path) -> Path:
    """The fixture articles where the default puts them: kb/ beside the database file."""
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    return root


def test_search_prints_the_id_then_the_score_and_title_best_first(tmp_path: Path) -> None:
    _kb(tmp_path)
    result = run(tmp_path, "kb", "search", "I was charged twice this month", "--limit", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    first = lines[0].split(maxsplit=2)
    assert first[0] == "duplicate-charge"
    assert 0.62 <= float(first[1]) < 1
    assert first[2] == "Charged twice"
    scores = [float(line.split()[1]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert "A customer would be offered duplicate-charge." in result.stderr

    ja = run(tmp_path, "kb", "search", "パスワードを忘れました", "--locale", "ja", "--limit", "1")
    assert ja.returncode == 0, ja.stderr
    [line] = ja.stdout.splitlines()
    assert line.startswith("reset-password  ")
    assert line.endswith("  パスワードを再設定する")


def test_search_says_when_nothing_fits_or_the_language_has_no_articles(tmp_path: Path) -> None:
    _kb(tmp_path)
    nothing = run(tmp_path, "kb", "search", "学割はありますか", "--locale", "ja")
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == ""
    assert "No article matches." in nothing.stderr
    # the desk's language is the default; SUPPORTBOT_LOCALE=ja searches the Japanese ones
    ja = run(tmp_path, "kb", "search", "返金", SUPPORTBOT_LOCALE="ja")
    assert ja.stdout.splitlines()[0].startswith("refund-policy ")
    assert "返金について" in ja.stdout
    french = run(tmp_path, "kb", "search", "remboursement", "--locale", "fr")
    assert french.returncode == 2
    assert "no articles in 'fr' (the knowledge base has: en, ja)" in french.stderr


def test_list_shows_every_article_per_language_and_the_missing_translations(
    tmp_path: Path,
) -> None:
    _kb(tmp_path)
    result = run(tmp_path, "kb", "list")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "en: 23 articles"
    assert out[24] == "ja: 23 articles"
    assert "  refund-policy              Refunds" in out
    assert "  refund-policy              返金について" in out
    assert out[-3:] == [
        "Without a translation:",
        "  en lacks qualified-invoice",
        "  ja lacks keyboard-shortcuts",
    ]


def test_list_of_an_empty_knowledge_base_says_where_articles_go(tmp_path: Path) -> None:
    (tmp_path / "kb" / "en").mkdir(parents=True)
    result = run(tmp_path, "kb", "list")
    assert result.returncode == 0, result.stderr
    [said] = result.stdout.splitlines()
    root = tmp_path / "kb"
    assert (
        said == f"No articles in {root}: add Markdown files under {root / 'en'}, {root / 'ja'}, ..."
    )


def test_reindex_counts_the_articles_and_names_each_bad_file_once(tmp_path: Path) -> None:
    root = _kb(tmp_path)
    result = run(tmp_path, "kb", "reindex")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Indexed 46 articles from {root} (23 in en, 23 in ja).\n"

    (root / "en" / "draft.md").write_text("no title yet\n", "utf-8")
    (root / "ja" / "old.md").write_bytes("# 古い記事\n".encode("shift_jis"))
    bad = run(tmp_path, "kb", "reindex")
    assert bad.returncode == 1
    assert bad.stdout.endswith("; skipped 2 files (see above).\n")
    warnings = [line for line in bad.stderr.splitlines() if "skipped" in line]
    assert len(warnings) == 2
    assert f"skipped {root / 'en' / 'draft.md'}: it has no title" in warnings[0]
    assert f"skipped {root / 'ja' / 'old.md'}: it is not UTF-8 text" in warnings[1]


def test_the_folder_comes_from_supportbot_kb_dir_or_is_explained(tmp_path: Path) -> None:
    missing = run(tmp_path, "kb", "list")
    assert missing.returncode == 2
    assert f"no knowledge base at {tmp_path / 'kb'}" in missing.stderr
    assert "SUPPORTBOT_KB_DIR" in missing.stderr
    shutil.copytree(FIXTURE, tmp_path / "articles")
    chosen = run(tmp_path, "kb", "search", "export my notes", SUPPORTBOT_KB_DIR="articles")
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.startswith("export-notes ")
