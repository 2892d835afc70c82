"""Similar closed tickets on a new ticket's card in Discord: each links to its forum post."""

from __future__ import annotations

from pathlib import Path

from bot import commands as c
from bot.model import Person
from tests.adapters.fake_discord import FORUM, GUILD, running_fake_discord
from tests.adapters.test_discord import connected
from tests.adapters.test_slack_similar import EARLIER

AGENT = c.Caller(Person("discord", "4300", "bob"), is_staff=True)


async def test_a_new_tickets_card_links_closed_tickets_like_it(tmp_path: Path) -> None:
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        for i, text in enumerate(EARLIER):
            await desk.say(5000 + i, f"customer{i}", text, 9000 + i)
            await fake.wait_for("POST", f"channels/{FORUM}/threads", count=i + 1)
        await fake.wait_for("POST", "/messages", count=2 * len(EARLIER))
        await desk.app.desk.handle_text("/ticket close #1 fixed in 2.3", AGENT)
        for number in range(2, len(EARLIER) + 1):
            await desk.app.desk.handle_text(f"/ticket close #{number} done", AGENT)
        similar = desk.app.desk.similar
        assert similar is not None
        await similar.catch_up()
        thread_of = {str(t["name"]).split()[0]: t_id for t_id, t in fake.threads.items()}

        await desk.say(5100, "customer", "PDF export error again", 9100)  # #7
        await fake.wait_for("POST", f"channels/{FORUM}/threads", count=len(EARLIER) + 1)
        [card] = [
            call.body
            for call in fake.called("POST", f"channels/{FORUM}/threads")
            if call.body["name"].startswith("#7 ")
        ]
        description = card["message"]["embeds"][0]["description"]
        link = f"https://discord.com/channels/{GUILD}/{thread_of['#1']}"
        assert f"[#1]({link}) The export to PDF fails with an error: fixed in 2.3" in description
        assert "Closed tickets like this one:" in description
