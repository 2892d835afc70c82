"""Logs for log shippers: SUPPORTBOT_LOG_FORMAT=json writes one object a line, naming the
ticket and platform a delivery's lines are about; in either format a secret never shows."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import commands as c
from bot.app import logs
from bot.app.bootstrap import build
from bot.clock import FrozenClock
from bot.config import ConfigError, load_config
from bot.desk import HANDLERS
from bot.model import OutboundMessage, Ticket
from bot.ports import DeliveryError, DeliveryReceipt
from tests.storage.test_health import AGENT, PLATFORM, ScriptedChat, customer

TOKEN = "xoxb-1111-2222-abcdefABCDEF"
DISCORD_TOKEN = "MTIz.discord-token-value.XYZ"
PASSWORD = "s3cret-pa55word"
ENV = {
    "SLACK_BOT_TOKEN": TOKEN,
    "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
    "DATABASE_URL": f"postgresql://app:{PASSWORD}@db.example.com/desk",
}


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("INFO", "json", ENV, stream)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class Refusing(ScriptedChat):
    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        raise DeliveryError("connection reset")  # transient: logged as a warning, retried


async def test_delivery_lines_carry_the_ticket_and_platform(
    tmp_path: Path, captured: tuple[io.StringIO, logging.Handler]
) -> None:
    stream, _ = captured
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}"}
    app = await build(load_config(env, dotenv=None), {PLATFORM: Refusing()}, clock=FrozenClock())
    try:
        await app.desk.handle(*customer("alice", "E1"))
        await app.desk.handle(*customer("ben", "E2"))
        await app.sender.drain()
    finally:
        await app.close()
    found = lines(stream)
    retries = [line for line in found if "not delivered" in str(line["message"])]
    assert retries, found
    # results are written in batches, several messages at once: each line names its own
    assert {line["ticket"] for line in retries} == {1, 2}
    for line in retries:
        assert line["platform"] == PLATFORM
        assert line["level"] == "WARNING"
        assert line["logger"] == "bot.outbox"
        assert str(line["time"]).endswith("+00:00")
    # a line about no ticket says none
    assert all("ticket" not in line for line in found if line not in retries)


async def test_the_desks_lines_carry_the_ticket_of_the_command(
    tmp_path: Path,
    captured: tuple[io.StringIO, logging.Handler],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream, _ = captured
    relay = HANDLERS[c.RelayAgentMessage]

    async def noted(ctx: Any, command: Any) -> Any:
        logging.getLogger("bot.desk").info("relaying an answer")  # as any line the desk writes
        return await relay(ctx, command)

    monkeypatch.setitem(HANDLERS, c.RelayAgentMessage, noted)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}"}
    app = await build(
        load_config(env, dotenv=None), {PLATFORM: ScriptedChat()}, clock=FrozenClock()
    )
    try:
        await app.desk.handle(*customer("alice", "E1"))
        await app.desk.handle(c.RelayAgentMessage(1, "On it"), AGENT)
    finally:
        await app.close()
    [said] = [line for line in lines(stream) if line["message"] == "relaying an answer"]
    assert (said["ticket"], said["platform"]) == (1, PLATFORM)
    # the task that asked the desk is about no ticket afterwards
    logging.getLogger("bot.desk").info("after")
    assert "ticket" not in lines(stream)[-1]


def _login() -> None:
    raise RuntimeError(f"Discord said no to {DISCORD_TOKEN}")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_secrets_never_appear(fmt: str) -> None:
    stream = io.StringIO()
    handler = logs.configure("INFO", fmt, ENV, stream)
    log = logging.getLogger("supportbot.test")
    try:
        log.warning("connecting with %s to %s", TOKEN, ENV["DATABASE_URL"])
        log.warning("a user token xoxp-9999-8888-7777 came back in an error")
        try:
            _login()
        except RuntimeError:
            log.exception("login failed")
    finally:
        logging.getLogger().removeHandler(handler)
    written = stream.getvalue()
    assert "login failed" in written
    assert "RuntimeError" in written  # the traceback stays, masked
    for secret in (TOKEN, DISCORD_TOKEN, PASSWORD, "xoxp-9999"):
        assert secret not in written
    assert logs.MASK in written
    if fmt == "json":
        assert len(lines(stream)) == 3


def test_an_unknown_format_is_refused_by_name() -> None:
    assert logs.log_format({}) == "text"
    assert logs.log_format({"SUPPORTBOT_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ConfigError, match="SUPPORTBOT_LOG_FORMAT"):
        logs.log_format({"SUPPORTBOT_LOG_FORMAT": "xml"})
