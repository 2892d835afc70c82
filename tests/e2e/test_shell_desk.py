"""The desk's newer commands through the real `supportbot run` and the shell adapter:
transcripts, tags, saved replies and the team's voice, duty and round-robin."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tests.e2e.test_cli import run


def test_a_closed_tickets_transcript_is_posted_kept_and_printed(tmp_path: Path) -> None:
    script = (
        "alice> Hi <script>alert(1)</script> <!channel> my invoice is wrong\n"
        "@bob> // VIP since 2019\n"
        "@bob> Fixed it, sorry!\n"
        "@bob> /ticket close fixed\n"
    )
    result = run(tmp_path, "run", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "[staff #1] Transcript of ticket #1 (3 messages)" in result.stdout
    assert re.search(r"files: ticket-1\.html \([\d,]+ bytes\), ticket-1\.txt", result.stdout)
    db = sqlite3.connect(tmp_path / "desk.db")
    assert db.execute("SELECT count(*) FROM transcripts").fetchone() == (1,)

    text = run(tmp_path, "tickets", "transcript", "1")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "Ticket #1: Hi <script>alert(1)</script> <!channel> my invoice is wrong"
    said = [line.split("] ", 1)[1] for line in lines if line.startswith("[") and ": " in line]
    assert said[:3] == [
        "alice: Hi <script>alert(1)</script> <!channel> my invoice is wrong",
        "bob (internal note): VIP since 2019",
        "bob: Fixed it, sorry!",
    ]
    page = run(tmp_path, "tickets", "transcript", "1", "--format", "html")
    assert page.stdout.startswith("<!DOCTYPE html>")
    assert "<script>" not in page.stdout
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; my invoice" in page.stdout
    as_json = run(tmp_path, "tickets", "transcript", "#1", "--format", "json")
    document = json.loads(as_json.stdout)
    assert [m["role"] for m in document["conversation"]] == ["customer", "internal", "agent"]
    missing = run(tmp_path, "tickets", "transcript", "9")
    assert missing.returncode == 1
    assert missing.stderr.startswith("supportbot: There is no ticket #9.")


def test_tickets_are_tagged_in_chat_and_listed_by_tag_in_the_terminal(tmp_path: Path) -> None:
    script = (
        "alice> My invoice is wrong\n"
        "@bob> /ticket tag #Billing VIP\n"
        "ben> The app crashes\n"
        "@bob #2> /ticket tag crash\n"
    )
    result = run(tmp_path, "run", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "[reply to @bob] Ticket #1 is tagged #billing #vip." in result.stdout
    listed = run(tmp_path, "tickets", "list", "all", "--tag", "#billing")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("All tickets (1)\n• #1 ")
    bad = run(tmp_path, "tickets", "list", "--tag", "two words")
    assert bad.returncode == 2
    assert "'two words' is not one word, so it cannot be a tag" in bad.stderr


def test_saved_replies_and_the_teams_voice_in_the_shell(tmp_path: Path) -> None:
    config = tmp_path / "desk.toml"
    config.write_text('[snippets.hello]\nen = "Hi {{ customer }}, this is {{ agent }}."\n')
    script = (
        "alice> My parcel is late\n"
        "@bob> !hello\n"
        "@bob> /ticket snippet add later We will write again tomorrow, {{ customer }}.\n"
        "@bob> /ticket send later\n"
        "@bob> !anon Sorry for the wait.\n"
    )
    result = run(tmp_path, "run", stdin=script, SUPPORTBOT_CONFIG=str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[to alice] bob: Hi alice, this is bob." in out
    assert "[to alice] bob: We will write again tomorrow, alice." in out
    assert "[to alice] Support team: Sorry for the wait." in out
    assert (
        "[staff #1] bob sent the saved reply “later”: We will write again tomorrow, alice." in out
    )


def test_agents_on_duty_get_new_tickets_in_turn_in_the_shell(tmp_path: Path) -> None:
    script = (
        "@bob> /ticket duty on\n"
        "@carol> /ticket duty on\n"
        "alice> My invoice is wrong\n"
        "ben> The app crashes\n"
        "@bob> /ticket duty\n"
    )
    result = run(tmp_path, "run", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[staff #1] @bob Assigned to bob in turn; they already held 0 open tickets." in out
    assert "[staff #2] @carol Assigned to carol in turn; they already held 0 open tickets." in out
    assert "• bob: 1 open, on duty since " in out
