"""`supportbot run` with Slack settings: the real command, connected to a fake Slack."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.adapters.fake_slack import running_fake_slack
from tests.support.bot_process import slack_env

SUPPORTBOT = str(Path(sys.executable).with_name("supportbot"))


async def test_run_connects_over_socket_mode_and_works_a_dm(tmp_path: Path) -> None:
    async with running_fake_slack() as fake:
        fake.staff = {"UAGENT0001"}
        env = slack_env(fake.base_url + "api/", f"sqlite:///{tmp_path / 'desk.db'}", "CSTAFF0001")
        proc = await asyncio.create_subprocess_exec(
            SUPPORTBOT,
            "run",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            started = ""
            while "started adapters" not in started:
                line = await asyncio.wait_for(proc.stderr.readline(), 30)
                assert line, "supportbot exited before it started"
                started = line.decode()
            assert "started adapters: slack" in started
            event = {
                "type": "message",
                "channel": "D0CUST0001",
                "channel_type": "im",
                "user": "UCUST00001",
                "text": "Where is my parcel?",
                "ts": fake.next_ts(),
            }
            ack = await fake.send_envelope(
                {
                    "envelope_id": "env-1",
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "payload": {
                        "type": "event_callback",
                        "team_id": "T0001",
                        "event_id": "EvCli1",
                        "event": event,
                    },
                }
            )
            assert ack == {"envelope_id": "env-1"}
            await fake.wait_for("chat.postMessage", count=3)  # card, acknowledgement, relay
            channels = [c["channel"] for c in fake.called("chat.postMessage")]
            assert sorted(channels) == ["CSTAFF0001", "CSTAFF0001", "D0CUST0001"]
            assert all(
                c.token == "xoxb-test-token" for c in fake.calls if c.method == "chat.postMessage"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
        assert code == 0
        assert proc.stderr is not None
        rest = (await proc.stderr.read()).decode()
        assert "xoxb-test-token" not in started + rest
        assert "Traceback" not in rest
