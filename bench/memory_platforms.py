"""Resident memory of `supportbot run` with the Slack and Discord adapters both connected to
local fakes: idle, and after 1,000 tickets (half from each). Target: at most 150 MB after."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import psutil

from tests.adapters.fake_discord import FORUM, bot_env, running_fake_discord
from tests.adapters.fake_slack import running_fake_slack

TARGET_MB = 150.0
TICKETS = 1000


async def main() -> bool:
    async with running_fake_slack() as slack, running_fake_discord() as discord:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "DISCORD_", "SUPPORTBOT_"))
            }
            env |= {
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'desk.db'}",
                "SUPPORTBOT_LOG_LEVEL": "WARNING",
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_APP_TOKEN": "xapp-test-token",
                "SLACK_STAFF_CHANNEL": "CSTAFF0001",
                "SLACK_API_URL": slack.base_url + "api/",
                "SLACK_RATE_SCALE": "100",  # the fake has no rate limits; memory is measured
                **bot_env(discord),
            }
            supportbot = str(Path(sys.executable).with_name("supportbot"))
            proc = await asyncio.create_subprocess_exec(
                supportbot,
                "run",
                env=env,
                cwd=tmp,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await slack.wait_for("apps.connections.open")
                await discord.wait_for("PUT", "/commands")  # the last step of its start
                await asyncio.sleep(2)  # a benchmark: let it settle, in real time
                idle = psutil.Process(proc.pid).memory_info().rss / 2**20
                half = TICKETS // 2
                for i in range(half):
                    await slack.send_envelope(
                        {
                            "envelope_id": f"e{i}",
                            "type": "events_api",
                            "accepts_response_payload": False,
                            "payload": {
                                "type": "event_callback",
                                "team_id": "T0001",
                                "event_id": f"Ev{i}",
                                "event": {
                                    "type": "message",
                                    "channel": f"D{i:08d}",
                                    "channel_type": "im",
                                    "user": f"U{i:08d}",
                                    "text": f"Order {i} is late",
                                    "ts": slack.next_ts(),
                                },
                            },
                        }
                    )
                for i in range(half):
                    await discord.dispatch(
                        "MESSAGE_CREATE",
                        discord.message_event(10**8 + i, f"customer{i}", f"Order {i}?", 10**9 + i),
                    )
                await discord.wait_for("POST", f"channels/{FORUM}/threads", count=half, seconds=600)
                # each Slack ticket makes three posts: card, acknowledgement, relay
                await slack.wait_for("chat.postMessage", count=3 * half, seconds=600)
                after = psutil.Process(proc.pid).memory_info().rss / 2**20
            finally:
                proc.terminate()
                await proc.wait()
    ok = bool(after <= TARGET_MB)
    print(
        f"memory: supportbot run (slack + discord) idle {idle:6.1f} MB, after {TICKETS} "
        f"tickets {after:6.1f} MB  [target <= {TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}]"
    )
    return ok


if __name__ == "__main__":
    asyncio.run(main())
