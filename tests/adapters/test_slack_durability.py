"""The Slack adapter when its database fails: nothing a customer wrote is lost or doubled,
and agents are told the truth. Real slack_bolt / slack_sdk against the fake Slack; the
outage is either a unit of work that raises StorageOutage or PostgreSQL cut by a TCP proxy."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bench.lag_probe import WriteLockHolder
from bot.clock import FrozenClock
from bot.ports import StorageOutage
from tests.adapters.fake_slack import TEAM, FakeSlack, running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, sign, start, stop
from tests.support.pg import required_database, with_port
from tests.support.tcp_proxy import running_proxy

AGENT, CUSTOMER = "UAGENT0001", "UCUST00001"
DM = "D0CUST0001"
NO_ACK_WAIT = 0.5  # seconds a Socket Mode envelope may take to be acknowledged, when it must not be
_ids = itertools.count(1)


def tie_ts_to_clock(fake: FakeSlack, clock: FrozenClock) -> None:
    """Slack stamps messages with its own time; make the fake's agree with the desk's clock,
    so that "look back a minute before the row was written" finds what was posted."""
    serial = itertools.count(1)
    fake.next_ts = lambda: f"{int(clock.now().timestamp())}.{next(serial):06d}"  # type: ignore[method-assign]


@asynccontextmanager
async def database(backend: str, prefix: str) -> AsyncIterator[str]:
    """ "" (the harness's SQLite file) or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield ""
        return
    async with required_database(prefix) as url:
        yield url


@asynccontextmanager
async def slack_desk(
    tmp: Path, socket_mode: bool = False, database_url: str = ""
) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {AGENT: {"name": "Agent One"}, CUSTOMER: {"name": "Alice"}}
        clock = FrozenClock()
        tie_ts_to_clock(fake, clock)
        desk = await start(fake, tmp, socket_mode, database_url=database_url, clock=clock)
        try:
            yield desk
        finally:
            await stop(desk)


class _DownUnit:
    async def __aenter__(self) -> _DownUnit:
        raise StorageOutage("OperationalError: the database is down (test)")

    async def __aexit__(self, *exc: object) -> None:
        return None


@dataclass
class Outage:
    """Takes the desk's database away and gives it back."""

    slack: SlackDesk
    _cut: Callable[[], Awaitable[None]]
    _restore: Callable[[], Awaitable[None] | None]
    down: bool = False
    unacknowledged: list[str] = field(default_factory=list)  # Socket Mode envelope ids
    refused: int = 0  # commands the desk could not keep
    _refusal: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        desk = self.slack.app.desk
        handle = desk.handle

        async def counted(command: Any, caller: Any) -> Any:
            try:
                return await handle(command, caller)
            except StorageOutage:
                self.refused += 1
                self._refusal.set()
                raise

        desk.handle = counted  # type: ignore[method-assign]
        sender = self.slack.app.sender
        drain = sender.drain

        async def drain_or_wait() -> int:
            try:
                return await drain()
            except StorageOutage:  # as OutboxSender.run does: wait, try again later
                if not self.down:
                    raise
                return 0

        sender.drain = drain_or_wait  # type: ignore[method-assign]

    async def until_refused(self, count: int) -> None:
        """Until the desk has refused `count` commands (a Socket Mode envelope that gets no
        acknowledgement says nothing of whether it was worked on)."""
        async with asyncio.timeout(10):
            while self.refused < count:
                self._refusal.clear()
                await self._refusal.wait()

    async def cut(self) -> None:
        self.down = True
        await self._cut()

    async def restore(self) -> None:
        self.down = False
        back = self._restore()
        if back is not None:
            await back


def swapped_units(slack: SlackDesk, sender_too: bool = True) -> Outage:
    """Every unit of work of the desk (and of the outbox sender) raises StorageOutage."""
    desk, sender = slack.app.desk, slack.app.sender
    saved = desk.uow_factory, sender.uow_factory

    async def cut() -> None:
        desk.uow_factory = _DownUnit  # type: ignore[assignment]
        if sender_too:
            sender.uow_factory = _DownUnit  # type: ignore[assignment]

    def restore() -> None:
        desk.uow_factory, sender.uow_factory = saved

    return Outage(slack, cut, restore)


@pytest.fixture(
    params=[
        "http-down",
        "socket-down",
        "http-sqlite-locked",
        "socket-sqlite-locked",
        "http-postgres-cut",
        "socket-postgres-cut",
    ]
)
async def outage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outage]:
    socket_mode = request.param.startswith("socket")
    if request.param.endswith("down"):
        async with slack_desk(tmp_path, socket_mode) as slack:
            yield swapped_units(slack)
        return
    if request.param.endswith("sqlite-locked"):
        # another process holds the write lock longer than the desk waits (0.2 s here)
        path = tmp_path / "locked.db"
        async with slack_desk(tmp_path, socket_mode, f"sqlite:///{path}?timeout=0.2") as slack:
            holder = WriteLockHolder(str(path), hold=60)

            async def lock() -> None:
                await holder.__aenter__()

            yield Outage(slack, lock, holder.release)
            await holder.release()
        return
    async with required_database("slack_outage") as url:
        real = make_url(url)
        async with running_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
            proxied = with_port(url, proxy.port)
            async with slack_desk(tmp_path, socket_mode, proxied) as slack:
                yield Outage(slack, proxy.cut, proxy.restore)


def message_event(user: str, text: str, channel: str, ts: str, thread: str = "") -> dict[str, Any]:
    """An event_callback exactly as Slack sends it (and sends it again, unchanged): a DM, or
    with `thread` a reply in a channel's thread."""
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel" if thread else "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }
    if thread:
        event["thread_ts"] = thread
    return {
        "token": "x",
        "team_id": TEAM,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": f"EvDur{next(_ids):06d}",
        "event_time": int(float(ts)),
    }


async def deliver(outage: Outage, payload: dict[str, Any], retry: int = 0) -> bool:
    """One delivery of an event as Slack makes it; True when Slack would count it taken."""
    slack = outage.slack
    if slack.socket_mode:
        envelope_id = f"env-dur-{next(_ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "payload": payload,
            "accepts_response_payload": False,
            "retry_attempt": retry,
            "retry_reason": "timeout" if retry else "",
        }
        ack = await slack.fake.send_envelope(envelope, timeout=NO_ACK_WAIT if outage.down else 10)
        if ack is None:
            outage.unacknowledged.append(envelope_id)
        return ack is not None
    body = json.dumps(payload)
    headers = {"Content-Type": "application/json", **sign(body)}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    assert slack.http is not None
    async with slack.http.post(slack.url, data=body.encode(), headers=headers) as response:
        await response.read()
        assert response.status == 200 or response.status >= 500, response.status
        return response.status == 200


def chat_calls(fake: FakeSlack) -> list[str]:
    return [c.method for c in fake.calls if c.method.startswith("chat.")]


async def test_customer_events_wait_out_a_database_outage_and_become_one_ticket_each(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    slack, fake = outage.slack, outage.slack.fake
    people = {f"UOUT{i:06d}": (f"D0OUT{i:05d}", f"Customer {i}") for i in range(3)}
    fake.users.update({user: {"name": name} for user, (_, name) in people.items()})
    events = {
        user: message_event(user, f"order {i} never arrived", dm, fake.next_ts())
        for i, (user, (dm, _)) in enumerate(people.items())
    }
    await outage.cut()
    for retry in (0, 1):  # the first delivery, and Slack's first retry, both during the outage
        taken = await asyncio.gather(*(deliver(outage, e, retry) for e in events.values()))
        assert taken == [False] * len(events)  # HTTP 5xx / no ack: Slack will send them again
    await outage.until_refused(2 * len(events))
    await slack.adapter.settled()
    assert chat_calls(fake) == []  # nobody was told anything, least of all "we got it"
    # the operator reads one line per event, not a traceback
    assert not [r for r in caplog.records if r.exc_info]
    assert any("Slack will send it again" in r.getMessage() for r in caplog.records)

    await outage.restore()
    for retry in (2, 3):  # after the outage: delivered, and once more for good measure
        taken = await asyncio.gather(*(deliver(outage, e, retry) for e in events.values()))
        assert taken == [True] * len(events)
    await slack.adapter.settled()
    await slack.app.sender.drain()

    cards = fake.messages(STAFF_CHANNEL)
    assert len(cards) == len(people)  # one ticket each
    for user, (dm, name) in people.items():
        (card,) = [c for c in cards if f"{name}" in json.dumps(c.get("blocks", c["text"]))]
        relays = fake.replies(STAFF_CHANNEL, card["ts"])
        assert [r["text"] for r in relays] == [f"*{name}:* {events[user]['event']['text']}"]
        (ack,) = fake.messages(dm)
        assert f"Hi {name}" in ack["text"]
        assert "ticket #" in ack["text"]
    assert not set(outage.unacknowledged) & {a.get("envelope_id") for a in fake.socket_acks}


async def test_agents_hear_not_done_during_an_outage_and_nothing_changes(
    outage: Outage,
) -> None:
    slack, fake = outage.slack, outage.slack.fake
    await slack.message(CUSTOMER, "The printer is on fire", DM, channel_type="im")
    (card,) = fake.messages(STAFF_CHANNEL)
    try_again = slack.app.desk.renderer.text("en", "try_again")
    assert try_again.startswith("Not done")
    assert "try again" in try_again
    before = len(fake.calls)

    await outage.cut()
    assert await slack.command(AGENT, "claim #1") == try_again
    assert await slack.command(AGENT, "close #1 fixed it") == try_again
    await slack.press(AGENT, "ticket:claim:1", STAFF_CHANNEL, card["ts"])
    pressed = fake.responses[-1]
    assert pressed["text"] == try_again
    assert pressed["response_type"] == "ephemeral"
    assert pressed.get("replace_original") in (False, "false")  # the card stays as it was
    # an agent's answer in the thread is an event: left for Slack to deliver again
    answer = message_event(AGENT, "On my way", STAFF_CHANNEL, fake.next_ts(), thread=card["ts"])
    assert not await deliver(outage, answer)
    await outage.restore()

    during = [c.method for c in fake.calls[before:] if c.method != "users.info"]
    assert "chat.update" not in during
    assert "chat.postMessage" not in during
    assert len(fake.messages(DM)) == 1  # the customer heard nothing but the first ack
    # the claim was really not made: it works now, as if for the first time
    assert await slack.command(AGENT, "claim #1") == "You claimed ticket #1."
    assert "Agent One" in str(fake.called("chat.update")[-1]["blocks"])
    assert await deliver(outage, answer, retry=1)
    await slack.app.sender.drain()
    assert [m["text"] for m in fake.messages(DM)][1:] == ["*Agent One:* On my way"]


HOSTILE = "\ud800 lone, NUL \x00, emoji 🧑\u200d💻😀, RTL \u202e\u200f مرحبا"
KEPT = "\ufffd lone, NUL \ufffd, emoji 🧑\u200d💻😀, RTL \u202e\u200f مرحبا"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_hostile_text_is_stored_relayed_with_replacements_and_acknowledged_once(
    backend: str, tmp_path: Path
) -> None:
    async with (
        database(backend, "slack_hostile") as url,
        slack_desk(tmp_path, database_url=url) as slack,
    ):
        fake = slack.fake
        payload = message_event(CUSTOMER, HOSTILE, DM, fake.next_ts())
        body = json.dumps(payload)
        assert "\\ud800" in body
        assert "\\u0000" in body  # as Slack's JSON carries them
        outage = swapped_units(slack)  # never cut: only for deliver()
        assert await deliver(outage, payload)
        await slack.adapter.settled()
        await slack.app.sender.drain()

        (card,) = fake.messages(STAFF_CHANNEL)
        assert "#1" in card["text"] or "#1" in json.dumps(card.get("blocks"))
        (relay,) = fake.replies(STAFF_CHANNEL, card["ts"])
        assert relay["text"] == f"*Alice:* {KEPT}"
        (ack,) = fake.messages(DM)
        assert "ticket #1" in ack["text"]
        async with slack.app.desk.uow_factory() as uow:  # kept as it will be shown
            ticket = await uow.tickets.by_number(1)
            assert ticket is not None
            assert ticket.id is not None
            (kept,) = await uow.messages.for_ticket(ticket.id)
        assert kept.body == KEPT
        assert await deliver(outage, payload, retry=1)  # a retry changes nothing
        await slack.app.sender.drain()
        assert len(fake.messages(STAFF_CHANNEL)) == 1
        assert len(fake.messages(DM)) == 1
