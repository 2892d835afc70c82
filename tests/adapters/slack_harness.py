"""Drive the Slack adapter as Slack would: signed HTTP requests, or Socket Mode envelopes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from adapters.slack.app import SlackAdapter
from adapters.slack.settings import SlackSettings
from bot.app.bootstrap import App, build
from bot.clock import FrozenClock
from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.settings import DeskSettings
from tests.adapters.fake_slack import TEAM, FakeSlack
from tests.support.virtual_time import RunningClock

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STAFF_CHANNEL = "CSTAFF0001"
HELP_CHANNEL = "CHELP00001"
LEADS_CHANNEL = "CLEADS0001"
_ids = itertools.count(1)


def settings(fake: FakeSlack, socket_mode: bool = False, help_auto: bool = False) -> SlackSettings:
    """`help_auto`: SLACK_HELP_CHANNELS=auto, else the one help channel HELP_CHANNEL."""
    return SlackSettings(
        bot_token="xoxb-test-token",
        staff_channel=STAFF_CHANNEL,
        app_token="xapp-test-token" if socket_mode else "",
        signing_secret=SECRET,
        help_channels=() if help_auto else (HELP_CHANNEL,),
        help_auto=help_auto,
        api_url=fake.base_url + "api/",
        http_port=0,
    )


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SlackDesk:
    fake: FakeSlack
    adapter: SlackAdapter
    app: App
    clock: FrozenClock
    http: aiohttp.ClientSession | None = None
    socket_mode: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Deliver one request the way Slack would, then let the outbox run."""
        if self.socket_mode:
            envelope = {
                "envelope_id": f"env-{next(_ids)}",
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
            }
            if headers and "envelope_id" in headers:
                envelope["envelope_id"] = headers["envelope_id"]
            ack = await self.fake.send_envelope(envelope)
            assert ack is not None, f"nobody acknowledged {envelope['envelope_id']}"
            await self.adapter.settled()
            await self.app.sender.drain()
            return 200, json.dumps(ack.get("payload") or {})
        if kind == "events_api":
            body, content_type = json.dumps(payload), "application/json"
        elif kind == "slash_commands":
            body = urllib.parse.urlencode(payload)
            content_type = "application/x-www-form-urlencoded"
        else:
            body = urllib.parse.urlencode({"payload": json.dumps(payload)})
            content_type = "application/x-www-form-urlencoded"
        all_headers = {"Content-Type": content_type, **sign(body), **(headers or {})}
        assert self.http is not None
        async with self.http.post(self.url, data=body.encode(), headers=all_headers) as response:
            text = await response.text()
            status = response.status
        await self.adapter.settled()
        await self.app.sender.drain()
        return status, text

    async def message(
        self,
        user: str,
        text: str,
        channel: str,
        *,
        channel_type: str = "channel",
        thread_ts: str = "",
        event_id: str = "",
        retry: int | None = None,
        **extra: Any,
    ) -> tuple[int, str]:
        ts = self.fake.next_ts()
        event = {
            "type": "message",
            "channel": channel,
            "channel_type": channel_type,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            **extra,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return await self.send("events_api", _callback(event, event_id), headers)

    async def event(self, event: dict[str, Any]) -> tuple[int, str]:
        """Any other event (app_home_opened, say), as Slack wraps it."""
        return await self.send("events_api", _callback(event, ""))

    async def submit_view(self, view_id: str) -> dict[str, Any]:
        """The person submits the fake's view `view_id`; the app's answer is applied to it,
        as Slack does, and returned."""
        status, body = await self.send("interactive", self.fake.views.submission(view_id))
        assert status == 200, body
        self.fake.views.answered(view_id, body)
        return json.loads(body) if body.strip() else {}

    async def command(self, user: str, text: str, channel: str = STAFF_CHANNEL) -> str:
        payload = {
            "token": "x",
            "team_id": TEAM,
            "channel_id": channel,
            "user_id": user,
            "command": "/ticket",
            "text": text,
            "trigger_id": f"trig-{next(_ids)}",
            "response_url": self.fake.base_url + f"response/{next(_ids)}",
        }
        answered = len(self.fake.responses)
        status, acknowledgement = await self.send("slash_commands", payload)
        assert status == 200
        assert acknowledgement in ("", "{}")  # the answer comes after
        assert len(self.fake.responses) == answered + 1, "the command got no answer"
        return str(self.fake.responses[-1]["text"])

    async def press(
        self, user: str, action_id: str, channel: str, message_ts: str = ""
    ) -> tuple[int, str]:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": TEAM},
            "api_app_id": "A0001",
            "trigger_id": f"trig-{next(_ids)}",
            "channel": {"id": channel},
            "container": {"type": "message"},
            "message": {"ts": message_ts or self.fake.next_ts(), "text": ""},
            "response_url": self.fake.base_url + f"response/{next(_ids)}",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "type": "button",
                    "value": action_id,
                    "action_ts": self.fake.next_ts(),
                }
            ],
        }
        return await self.send("interactive", payload)

    async def submit(
        self,
        user: str,
        callback_id: str,
        number: int,
        values: dict[str, dict[str, Any]],
        metadata: str = "",
    ) -> tuple[int, str]:
        """A form submitted; `metadata` is the private_metadata the form was opened with."""
        payload = {
            "type": "view_submission",
            "user": {"id": user},
            "team": {"id": TEAM},
            "api_app_id": "A0001",
            "trigger_id": f"trig-{next(_ids)}",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": metadata or json.dumps({"number": number}),
                "state": {"values": values},
            },
        }
        return await self.send("interactive", payload)


def _callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": TEAM,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": 1700000000,
    }


async def start(
    fake: FakeSlack,
    tmp: Path,
    socket_mode: bool = False,
    leads_channel: str = "",
    *,
    database_url: str = "",
    clock: FrozenClock | None = None,
    desk: DeskSettings | None = None,
    help_auto: bool = False,
    team_groups: dict[str, str] | None = None,
) -> SlackDesk:
    """A desk on `database_url` (default: a SQLite file in `tmp`) and `clock`, with the
    desk's settings `desk` (default: the defaults); `help_auto`: SLACK_HELP_CHANNELS=auto;
    `team_groups`: SLACK_TEAM_GROUPS (team -> user group id)."""
    clock = clock or FrozenClock()
    chosen = replace(
        settings(fake, socket_mode, help_auto),
        leads_channel=leads_channel,
        team_groups=team_groups or {},
    )
    adapter = SlackAdapter(chosen, clock=clock)
    config = Config(
        database_url=database_url or f"sqlite:///{tmp / 'desk.db'}", desk=desk or DeskSettings()
    )
    app = await build(config, {"slack": adapter.deliverer}, clock=clock)
    # the channels' pace runs on the test's clock: waiting for a turn moves it, not sleeps
    app.sender.pacer = Pacer(RunningClock(clock))
    try:
        await adapter.start(app.desk)
    except BaseException:
        await app.close()
        raise
    http = None if socket_mode else aiohttp.ClientSession()
    return SlackDesk(fake, adapter, app, clock, http, socket_mode)


async def stop(desk: SlackDesk) -> None:
    if desk.http is not None:
        await desk.http.close()
    await desk.adapter.stop()
    await desk.app.close()
