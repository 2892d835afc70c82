"""Out of hours on Slack: the acknowledgement tells each customer when the team is back in
the time zone of their own Slack profile (users.info `tz`)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessHours
from bot.clock import FrozenClock
from bot.settings import DeskSettings
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import start, stop

TOKYO = ZoneInfo("Asia/Tokyo")
HOURS = BusinessHours(
    TOKYO, frozenset(range(5)), time(9), time(18), frozenset({date(2026, 12, 31), date(2027, 1, 1)})
)
ALICE, KENJI = "UCUST00001", "UJAPAN0001"


async def test_each_customer_is_told_the_return_in_their_own_time_zone(tmp_path: Path) -> None:
    async with running_fake_slack() as fake:
        fake.users = {
            ALICE: {"name": "Alice", "locale": "en-US", "tz": "Europe/Berlin"},
            KENJI: {"name": "Kenji", "locale": "ja-JP", "tz": "Asia/Tokyo"},
        }
        # Wednesday evening in Tokyo, before two holidays and a weekend
        clock = FrozenClock(datetime(2026, 12, 30, 20, 0, tzinfo=TOKYO))
        desk = DeskSettings(business_hours=HOURS, timezone="Asia/Tokyo")
        slack = await start(fake, tmp_path, clock=clock, desk=desk)
        try:
            await slack.message(ALICE, "My card was charged twice", "D0ALICE001", channel_type="im")
            await slack.message(KENJI, "返金してください", "D0KENJI001", channel_type="im")
            await slack.app.sender.drain()
            [alice] = fake.messages("D0ALICE001")
            [kenji] = fake.messages("D0KENJI001")
        finally:
            await stop(slack)
    # 09:00 on Monday 4 January in Tokyo is 01:00 that morning in Berlin
    assert "Our team is offline until Monday 4 January, 01:00 CET;" in alice["text"]
    assert "ただいま営業時間外のため、1月4日（月）09:00（JST）から対応いたします。" in kenji["text"]
