"""The knowledge base at work through the real `supportbot run` and the shell adapter:
articles offered with the acknowledgement, "This solved it", and `/ticket kb` for agents."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.test_cli import run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"


def test_customers_are_offered_articles_and_agents_search_and_send_them(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "kb")  # where the desk looks: beside its database
    (tmp_path / "kb" / "en" / "english-only.md").write_text("# Only in English\n\nNot yet.\n")
    script = (
        "alice> I was charged twice this month\n"
        "ben> The app crashes\n"
        "ben> !kb:solved:2\n"
        "ben> !kb:solved:2\n"
        "alice> !kb:help:1\n"
        "carol> Hello there, lovely weather\n"
        "yuki(ja)> パスワードを忘れました\n"
        "@bob #4> /ticket kb パスワード\n"
        "@bob #4> /ticket kb send english-only\n"
        "@bob #4> /ticket kb send reset-password\n"
        "@bob> /ticket digest\n"
    )
    result = run(tmp_path, "run", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "knowledge base: articles in en, ja" in result.stderr
    # 1: offered, with the article's text inline (it has no URL) and the two buttons
    assert "This article may answer your question right away:\n    **Charged twice**" in out
    assert "buttons: [This solved it] !kb:solved:1  [I still need help] !kb:help:1" in out
    assert "[to alice] Thanks for letting us know. An agent will be with you soon." in out
    assert "[staff #1] Offered to the customer: “Charged twice” (`duplicate-charge`" in out
    # 2: "This solved it" closes it as self-served: thanks, no rating question
    assert out.count("[to ben] Glad the article helped!") == 1  # pressed twice
    assert "[staff #2] The customer says the offered article solved it, so the ticket" in out
    assert "[staff #2] card: closed" in out
    assert "!csat:5:2" not in out
    # 3: nothing fits, nothing offered
    carol = out.split("[to carol]")[1].split("[staff #3]")[0]
    assert "article" not in carol
    assert "buttons" not in carol
    # 4: a Japanese customer, and an agent working in their language
    assert "**パスワードを再設定する**\n    https://help.kumonotes.example/ja/reset-password" in out
    assert "buttons: [これで解決しました] !kb:solved:4  [まだ解決していません] !kb:help:4" in out
    assert "Articles for “パスワード” in Japanese, the language of #4’s customer:" in out
    assert "[reply to @bob] Not sent: the article “english-only” has no Japanese version" in out
    assert "[staff #4]\n    bob sent the article “reset-password”" in out
    assert "Self-served with an article 1\n" in out
    assert "**Questions no article answered** (1)\n    • #3 Hello there, lovely weather\n" in out


def test_agents_see_closed_tickets_like_theirs(tmp_path: Path) -> None:
    script = (
        "ann> The export to PDF fails with an error\n"
        "@bob #1> /ticket close fixed in version 2.3\n"
        "ben> How do I change my email address?\n"
        "@bob #2> /ticket close answered\n"
        "cat> Exporting my notebook to PDF gives an error\n"
        "@bob #3> /ticket similar\n"
    )
    result = run(tmp_path, "run", stdin=script)
    assert result.returncode == 0, result.stderr
    shown = result.stdout.split("[reply to @bob]\n    Closed tickets like #3:\n")[1]
    first = shown.splitlines()[0]
    assert first.startswith("    • #1 0.")
    assert first.endswith(" The export to PDF fails with an error: fixed in version 2.3")
    assert "#2" not in shown.split("[")[0]
