"""Care over time in Discord: follow-up buttons in the post, the check-in in the customer's
DMs, response-target alerts and the digest in the leads channel with links to the posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from tests.adapters.fake_discord import GUILD, LEADS, STAFF_ROLE, running_fake_discord
from tests.adapters.test_discord import (
    AGENT,
    CUSTOMER,
    DM,
    DiscordDesk,
    _answered,
    _components,
    _form_submit,
    _thread_id,
    connected,
)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DiscordDesk]:
    async with running_fake_discord() as fake, connected(fake, tmp_path, leads=LEADS) as desk:
        yield desk


async def _later(desk: DiscordDesk, delta: timedelta) -> None:
    clock = desk.app.desk.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(delta)
    await desk.app.runner.fire_due()
    await desk.app.sender.drain()


async def _press(desk: DiscordDesk, custom_id: str, who: int, channel: int) -> str:
    roles = [STAFF_ROLE] if who == AGENT else []
    name = "bob" if who == AGENT else "alice"
    component = {"custom_id": custom_id, "component_type": 2}
    return await desk.fake.interact(3, component, who, name, channel, roles=roles)


async def test_follow_up_buttons_and_the_customers_check_in(desk: DiscordDesk) -> None:
    fake = desk.fake
    await desk.say(CUSTOMER, "alice", "Printer jams", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = int(_thread_id(fake))
    await _answered(fake, await _press(desk, "ticket:claim:1", AGENT, thread))
    await desk.app.sender.drain()
    form = _form_submit("ticket_close:1", resolution="cleaned rollers", followup="")
    closed = await fake.interact(5, form, AGENT, "bob", thread, roles=[STAFF_ROLE])
    assert "closed" in (await _answered(fake, closed))["data"]["content"]
    await _later(desk, timedelta(days=3))
    reminder = desk.sent_to(thread)[-1].body
    assert reminder["content"].startswith(f"<@{AGENT}> Follow-up due for #1")
    assert reminder["allowed_mentions"]["users"] == [AGENT]
    checkin, _snooze, done = _components(reminder)
    answer = await _answered(fake, await _press(desk, checkin, AGENT, thread))
    assert "Check-in sent" in answer["data"]["content"]
    await desk.app.sender.drain()
    question = desk.sent_to(DM)[-1].body
    assert "Is everything still working?" in question["content"]
    assert _components(question) == ["checkin:good:1", "checkin:trouble:1"]
    in_thread, in_dm = len(desk.sent_to(thread)), len(desk.sent_to(DM))
    await _answered(fake, await _press(desk, "checkin:good:1", CUSTOMER, DM))
    await fake.wait_for("POST", f"channels/{thread}/messages", count=in_thread + 1)
    await fake.wait_for("POST", f"channels/{DM}/messages", count=in_dm + 1)
    assert "all good" in desk.sent_to(thread)[-1].body["content"]
    assert "Glad it is working" in desk.sent_to(DM)[-1].body["content"]
    late = await _answered(fake, await _press(desk, done, AGENT, thread))
    assert "already done" in late["data"]["content"]


async def test_breach_and_digest_in_the_leads_channel(desk: DiscordDesk) -> None:
    fake = desk.fake
    await desk.app.runner.start()
    await desk.say(CUSTOMER, "alice", "How do I change my avatar", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    await _later(desk, timedelta(hours=3))
    nudge = desk.sent_to(thread)[-1].body
    assert nudge["content"].startswith(f"<@&{STAFF_ROLE}> Heads-up: 75%")
    assert nudge["allowed_mentions"]["roles"] == [STAFF_ROLE]
    await _later(desk, timedelta(hours=1))
    link = f"[#1](https://discord.com/channels/{GUILD}/{thread})"
    [alert] = [c.body["content"] for c in desk.sent_to(LEADS)]
    assert alert.startswith(f"Response target missed: {link}")
    await _later(desk, timedelta(hours=20))  # 09:00 the next day
    digest = desk.sent_to(LEADS)[-1].body["content"]
    assert "**Daily digest**" in digest
    assert f"{link} How do I change my avatar" in digest
    assert "breaches: 1" in digest


async def test_a_leads_channel_the_bot_cannot_use_stops_the_start(tmp_path: Path) -> None:
    from bot.config import ConfigError

    async with running_fake_discord() as fake:
        with pytest.raises(ConfigError) as caught:
            async with connected(fake, tmp_path, leads=LEADS + 1):
                pass
    assert caught.value.variable == "DISCORD_LEADS_CHANNEL"
    assert "not a text channel the bot can see" in caught.value.problem
