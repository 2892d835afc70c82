"""The Discord adapter when its database or its gateway session goes away: what customers and
agents wrote meanwhile waits in the spool or is read back from channel history, and reaches
the other side once, in order. Real discord.py against the fake Discord, SQLite, the outbox
sender running (see test_discord.connected); the outage is a unit of work that raises
StorageOutage, as the SQL unit of work does when the database is unreachable."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord.app import DiscordAdapter
from adapters.discord.settings import DiscordSettings
from bot.config import ConfigError
from bot.ports import StorageOutage
from tests.adapters.fake_discord import (
    FORUM,
    GUILD,
    STAFF_ROLE,
    FakeDiscord,
    running_fake_discord,
)
from tests.adapters.test_discord import AGENT, CUSTOMER, DM, DiscordDesk, connected

DAVE, DAVE_DM = 4201, 8801
SPOOL = "discord-spool.jsonl"  # where test_discord.connected puts DISCORD_SPOOL_FILE
RETRY = 0.02  # seconds between the spool's replay attempts while the database is down


class Outage:
    """Every unit of work of the desk and of the outbox sender raises StorageOutage; `tries`
    counts the desk's (the intake's) attempts."""

    def __init__(self, desk: DiscordDesk) -> None:
        self.app, self.tries = desk.app, 0
        self._saved = desk.app.desk.uow_factory, desk.app.sender.uow_factory

    def cut(self) -> None:
        outage = self

        class Down:
            def __init__(self, counted: bool = True) -> None:
                outage.tries += counted

            async def __aenter__(self) -> Down:
                raise StorageOutage("OperationalError: the database is down (test)")

            async def __aexit__(self, *exc: object) -> None:
                return None

        self.app.desk.uow_factory = Down  # type: ignore[assignment]
        self.app.sender.uow_factory = lambda: Down(counted=False)  # type: ignore[assignment]

    def restore(self) -> None:
        self.app.desk.uow_factory, self.app.sender.uow_factory = self._saved


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Polls: a file on disk or a count in the fake has no event to wait on."""
    for _ in range(int(seconds * 100)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"still not so after {seconds} s")


def spooled(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / SPOOL
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def said_by_bot(fake: FakeDiscord, channel: int | str) -> list[str]:
    """What the channel shows from the bot, oldest first (one entry per distinct message),
    but for a forum post's card."""
    card = fake.starters.get(str(channel))
    return [
        m["content"] for m in fake.messages(channel) if m["author"].get("bot") and m["id"] != card
    ]


def staff_thread(fake: FakeDiscord, number: int) -> str:
    return next(t for t, data in fake.threads.items() if data["name"].startswith(f"#{number} "))


def identify_at_once(desk: DiscordDesk) -> None:
    """discord.py sleeps 5 s (real time) before each IDENTIFY after the first."""

    async def at_once(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    desk.adapter.client.before_identify_hook = at_once  # type: ignore[method-assign]


async def settled(desk: DiscordDesk) -> None:
    """Whatever the catch-up or the spool still had in hand is handled and delivered."""
    await asyncio.sleep(0.2)
    await desk.app.sender.drain()


async def open_ticket(desk: DiscordDesk, text: str = "My order never came") -> str:
    await desk.say(CUSTOMER, "alice", text, DM)
    await desk.fake.wait_for("POST", "/messages", count=2)  # the acknowledgement, the relay
    await desk.app.sender.drain()  # and the outbox knows they went out
    return staff_thread(desk.fake, 1)


async def shows(fake: FakeDiscord, channel: int | str, count: int, seconds: float = 10) -> None:
    """Until the channel shows `count` messages from the bot (a resend that Discord answered
    from its nonce is no new message)."""
    await until(lambda: len(said_by_bot(fake, channel)) >= count, seconds)


# --- the database goes away: the spool ---------------------------------------------------


async def test_messages_during_a_database_outage_wait_in_the_spool_and_arrive_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_disk: list[int] = []  # spool lines on disk at each fsync
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        on_disk.append(len(spooled(tmp_path)))

    monkeypatch.setattr(os, "fsync", fsync)
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        assert desk.adapter.intake is not None
        desk.adapter.intake.retry_seconds = RETRY
        thread = await open_ticket(desk, "first")
        outage = Outage(desk)
        outage.cut()
        await desk.say(CUSTOMER, "alice", "second", DM)
        await desk.say(CUSTOMER, "alice", "third", DM)
        await desk.say(DAVE, "dave", "hello from dave", DAVE_DM)
        reply = await desk.say(AGENT, "bob", "On it, Alice.", int(thread), roles=[STAFF_ROLE])
        await until(lambda: len(spooled(tmp_path)) == 4)
        texts = ["second", "third", "hello from dave", "On it, Alice."]
        assert [a["content"] for a in spooled(tmp_path)] == texts
        assert [a["kind"] for a in spooled(tmp_path)] == ["customer"] * 3 + ["agent"]
        assert on_disk == [1, 2, 3, 4]  # each on disk before the next was taken
        tries = outage.tries
        await until(lambda: outage.tries >= tries + 3)  # the replay keeps trying...
        assert len(spooled(tmp_path)) == 4  # ...and drops nothing while it fails
        # nobody was told anything: no acknowledgement of what was not stored, no error
        assert len(said_by_bot(fake, DM)) == 1
        assert said_by_bot(fake, DAVE_DM) == []
        assert said_by_bot(fake, thread) == ["**alice:** first"]
        assert len(fake.threads) == 1

        desk.adapter.intake.retry_seconds = 0.5
        tries = outage.tries
        await until(lambda: outage.tries > tries)  # the replay sleeps for half a second now
        outage.restore()
        await desk.say(CUSTOMER, "alice", "fourth", DM)  # it waits behind what came before
        await until(lambda: [a["content"] for a in spooled(tmp_path)] == [*texts, "fourth"])
        await until(lambda: not (tmp_path / SPOOL).exists())
        await until(lambda: len(fake.threads) == 2)
        await shows(fake, DM, 2)
        await shows(fake, thread, 4)
        await shows(fake, DAVE_DM, 1)
        await settled(desk)
        relayed = ["first", "second", "third", "fourth"]
        assert said_by_bot(fake, thread) == [f"**alice:** {t}" for t in relayed]
        ack, answer = said_by_bot(fake, DM)
        assert "ticket #1" in ack
        assert answer == "**bob:** On it, Alice."
        (dave_ack,) = said_by_bot(fake, DAVE_DM)
        assert "ticket #2" in dave_ack
        assert said_by_bot(fake, staff_thread(fake, 2)) == ["**dave:** hello from dave"]
        await fake.wait_for("PUT", "/@me")  # bob sees his answer went out
        assert fake.called("PUT", "/@me")[0].path.endswith(
            f"{thread}/messages/{reply}/reactions/✅/@me"
        )


@pytest.mark.parametrize("dies", ["during_the_outage", "in_the_middle_of_the_replay"])
async def test_a_process_that_dies_with_a_full_spool_replays_it_once_when_started_again(
    tmp_path: Path, dies: str
) -> None:
    async with running_fake_discord(rest_history=True) as fake:
        async with connected(fake, tmp_path) as desk:
            intake = desk.adapter.intake
            assert intake is not None
            intake.retry_seconds = RETRY
            thread = await open_ticket(desk, "first")
            outage = Outage(desk)
            outage.cut()  # during_the_outage: it never comes back in this process
            await desk.say(CUSTOMER, "alice", "second", DM)
            await desk.say(DAVE, "dave", "hello from dave", DAVE_DM)
            await until(lambda: len(spooled(tmp_path)) == 2)
            if dies == "in_the_middle_of_the_replay":  # "second" is stored, then it dies

                async def never(arrival: object) -> None:
                    await asyncio.Event().wait()

                intake.spool.done = never  # type: ignore[method-assign]
                outage.restore()
                await shows(fake, thread, 2)
        assert [a["content"] for a in spooled(tmp_path)] == ["second", "hello from dave"]

        async with connected(fake, tmp_path) as desk:  # a new process, the same files
            await until(lambda: not (tmp_path / SPOOL).exists())
            await shows(fake, DAVE_DM, 1)
            await fake.wait_for("GET", f"channels/{DM}/messages")  # the catch-up ran too
            await settled(desk)
            assert said_by_bot(fake, thread) == ["**alice:** first", "**alice:** second"]
            assert len(said_by_bot(fake, DM)) == 1  # alice's acknowledgement, once
            assert len(fake.threads) == 2
            assert len(said_by_bot(fake, DAVE_DM)) == 1
            assert said_by_bot(fake, staff_thread(fake, 2)) == ["**dave:** hello from dave"]


# --- the gateway session goes away: catch-up from channel history ---------------------------


def write_while_away(fake: FakeDiscord, thread: str) -> dict[str, Any]:
    """Alice twice in her DM, bob once in the ticket's thread: Discord keeps them, the bot
    hears nothing."""
    fake.post_while_away(DM, CUSTOMER, "It is order 55.", name="alice")
    fake.post_while_away(DM, CUSTOMER, "Any news?", name="alice")
    return fake.post_while_away(
        int(thread), AGENT, "Found it, it ships today.", guild=True, name="bob", roles=[STAFF_ROLE]
    )


async def check_caught_up(desk: DiscordDesk, thread: str, answer: dict[str, Any]) -> None:
    fake = desk.fake
    await shows(fake, thread, 3)
    await shows(fake, DM, 3)
    await fake.wait_for("PUT", f"messages/{answer['id']}/reactions/✅/@me")
    await desk.say(CUSTOMER, "alice", "Thanks!", DM)  # the gateway again, after the catch-up
    await shows(fake, thread, 4)
    await settled(desk)
    relays = ["Where is my order?", "It is order 55.", "Any news?", "Thanks!"]
    assert said_by_bot(fake, thread) == [f"**alice:** {t}" for t in relays]
    ack, *answers = said_by_bot(fake, DM)
    assert "ticket #1" in ack
    assert answers == ["**bob:** Which order number?", "**bob:** Found it, it ships today."]
    assert len(fake.threads) == 1


@pytest.mark.parametrize("downtime", ["session_lost", "process_restarted"])
async def test_what_was_written_while_the_bot_was_away_is_relayed_once_in_order(
    tmp_path: Path, downtime: str
) -> None:
    async with running_fake_discord(rest_history=True) as fake:
        async with connected(fake, tmp_path) as desk:
            thread = await open_ticket(desk, "Where is my order?")
            await desk.say(AGENT, "bob", "Which order number?", int(thread), roles=[STAFF_ROLE])
            await shows(fake, DM, 2)
            if downtime == "session_lost":  # Discord's gateway restarts: RESUME is refused
                identify_at_once(desk)
                answer = write_while_away(fake, thread)
                await fake.restart()
                await check_caught_up(desk, thread, answer)
                assert fake.identifies == 2
                assert fake.invalid_sessions == 1
        if downtime == "process_restarted":
            answer = write_while_away(fake, thread)
            async with connected(fake, tmp_path) as desk:
                await check_caught_up(desk, thread, answer)


async def test_a_message_right_after_reconnecting_does_not_hide_what_came_before(
    tmp_path: Path,
) -> None:
    async with running_fake_discord(rest_history=True) as fake, connected(fake, tmp_path) as desk:
        thread = await open_ticket(desk, "Where is my order?")
        identify_at_once(desk)
        fake.post_while_away(DM, CUSTOMER, "It is order 55.", name="alice")
        await fake.restart()
        async with asyncio.timeout(10):
            await fake.identified.wait()
        await desk.say(CUSTOMER, "alice", "Hello? Anyone?", DM)  # before on_ready
        await shows(fake, thread, 3)
        await settled(desk)
        relays = ["Where is my order?", "It is order 55.", "Hello? Anyone?"]
        assert said_by_bot(fake, thread) == [f"**alice:** {t}" for t in relays]


async def test_an_agents_first_answer_written_while_away_reaches_the_customer(
    tmp_path: Path,
) -> None:
    async with running_fake_discord(rest_history=True) as fake, connected(fake, tmp_path) as desk:
        thread = await open_ticket(desk, "Where is my order?")
        identify_at_once(desk)
        fake.post_while_away(
            int(thread), AGENT, "It ships today.", guild=True, name="bob", roles=[STAFF_ROLE]
        )
        await fake.restart()
        await shows(fake, DM, 2)
        await settled(desk)
        assert said_by_bot(fake, DM)[1:] == ["**bob:** It ships today."]


async def test_a_catch_up_that_meets_a_database_outage_happens_when_it_is_back(
    tmp_path: Path,
) -> None:
    async with running_fake_discord(rest_history=True) as fake, connected(fake, tmp_path) as desk:
        thread = await open_ticket(desk, "Where is my order?")
        identify_at_once(desk)
        assert desk.adapter.intake is not None
        desk.adapter.intake.retry_seconds = RETRY
        outage = Outage(desk)
        outage.cut()
        fake.post_while_away(DM, CUSTOMER, "It is order 55.", name="alice")
        await fake.restart()
        # read back all the same, and kept in the spool until the database is back
        await until(lambda: [a["content"] for a in spooled(tmp_path)] == ["It is order 55."])
        outage.restore()
        await shows(fake, thread, 2)
        await settled(desk)
        assert said_by_bot(fake, thread) == [
            "**alice:** Where is my order?",
            "**alice:** It is order 55.",
        ]


# --- hostile text ----------------------------------------------------------------------------

HOSTILE = "a\ud800b\x00c 😀 \u200fשלום\u200e \u202eevil"  # lone surrogate, NUL, emoji, RTL
STORED = "a\ufffdb\ufffdc 😀 \u200fשלום\u200e \u202eevil"


def like_orjson(text: str | bytes) -> Any:
    """discord.py parses with orjson when it is installed, which refuses a lone surrogate."""
    value = json.loads(text)
    json.dumps(value, ensure_ascii=False).encode()  # UnicodeEncodeError, a ValueError
    return value


@pytest.mark.parametrize("path", ["live", "through_the_spool"])
async def test_hostile_text_is_stored_and_relayed_once(
    tmp_path: Path, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.utils, "_from_json", like_orjson)  # the adapter must see to it
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        assert desk.adapter.intake is not None
        desk.adapter.intake.retry_seconds = RETRY
        outage = Outage(desk)
        if path == "through_the_spool":
            outage.cut()
        await desk.say(CUSTOMER, "alice", HOSTILE, DM)  # the gateway's JSON says \ud800
        if path == "through_the_spool":
            await until(lambda: len(spooled(tmp_path)) == 1)
            assert spooled(tmp_path)[0]["content"] == HOSTILE  # kept as it came
            outage.restore()
        await until(lambda: len(fake.threads) == 1)
        thread = staff_thread(fake, 1)
        await shows(fake, thread, 1)
        await settled(desk)
        assert said_by_bot(fake, thread) == [f"**alice:** {STORED}"]
        assert len(said_by_bot(fake, DM)) == 1
        assert len(fake.threads) == 1
        assert not {"\ud800", "\x00"} & set(fake.threads[thread]["name"])
        async with desk.app.desk.uow_factory() as uow:
            ticket = await uow.tickets.by_number(1)
            assert ticket is not None
            assert ticket.id is not None
            assert [m.body for m in await uow.messages.for_ticket(ticket.id)] == [STORED]
        assert not (tmp_path / SPOOL).exists()
        # the gateway connection survived it: the next customer is heard
        await desk.say(DAVE, "dave", "Are you there?", DAVE_DM)
        await until(lambda: len(fake.threads) == 2)


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["read_only_folder", "not_a_folder"])
async def test_an_unwritable_spool_file_stops_the_start_naming_the_variable(
    tmp_path: Path, where: str
) -> None:
    folder = tmp_path / ("spool" if where == "read_only_folder" else "a-file")
    spool = folder / SPOOL
    if where == "read_only_folder":
        folder.mkdir(mode=0o555)
    else:
        folder.write_text("")
    async with running_fake_discord() as fake:
        settings = DiscordSettings(
            bot_token="fake-token",
            guild_id=GUILD,
            staff_channel=FORUM,
            staff_role=STAFF_ROLE,
            api_url=fake.base_url + "/api/v10",
            gateway_url=fake.base_url.replace("http", "ws") + "/gateway/",
            spool_file=str(spool),
        )
        adapter = DiscordAdapter(settings)
        root = os.geteuid() == 0
        try:
            if root:  # root may write anywhere: access is checked for the real user, nobody
                os.setresuid(65534, 0, 0)
            with pytest.raises(ConfigError) as refused:
                await adapter.start(None)  # type: ignore[arg-type]
        finally:
            if root:
                os.setresuid(0, 0, 0)
            folder.chmod(0o755)
        assert not fake.calls
        assert fake.identifies == 0  # it never went to Discord
    assert refused.value.variable == "DISCORD_SPOOL_FILE"
    assert str(folder.resolve()) in str(refused.value)
    assert not spool.exists()
