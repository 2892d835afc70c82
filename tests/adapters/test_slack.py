"""The Slack adapter through the real slack_bolt / slack_sdk against a fake Slack on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.delivery.pacing import Pacer
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import HELP_CHANNEL, STAFF_CHANNEL, SlackDesk, sign, start, stop
from tests.support.virtual_time import RunningClock

AGENT, AGENT2, CUSTOMER = "UAGENT0001", "UAGENT0002", "UCUST00001"
DM = "D0CUST0001"


@pytest.fixture(params=["http", "socket"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT, AGENT2}
        fake.users = {
            AGENT: {"name": "Agent One"},
            AGENT2: {"name": "Agent Two"},
            CUSTOMER: {"name": "Alice", "locale": "en-US"},
            "UJAPAN0001": {"name": "Kenji", "locale": "ja-JP"},
        }
        desk = await start(fake, tmp_path, socket_mode=request.param == "socket")
        try:
            yield desk
        finally:
            await stop(desk)


def posts(slack: SlackDesk, channel: str, thread: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    return [
        c
        for c in slack.fake.called("chat.postMessage")
        if c["channel"] == channel and (thread is None or c.get("thread_ts") == thread)
    ]


async def test_a_whole_ticket_from_dm_to_rating(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "My card was charged twice", DM, channel_type="im")
    card = posts(slack, STAFF_CHANNEL)[0]
    card_ts = _card_ts(slack)
    buttons = [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["ticket:claim:1", "ticket:escalate:1", "snippet:pick:1", "ticket:close:1"]
    assert "#1 My card was charged twice" in card["blocks"][0]["text"]["text"]
    ack = posts(slack, DM)[0]
    assert "Hi Alice" in ack["text"]
    assert "ticket #1" in ack["text"]
    relay = posts(slack, STAFF_CHANNEL, card_ts)
    assert relay
    assert "My card was charged twice" in relay[0]["text"]

    await slack.press(AGENT, "ticket:claim:1", STAFF_CHANNEL)
    update = slack.fake.called("chat.update")[-1]
    assert update["ts"] == card_ts
    assert "ticket:claim:1" not in str(update["blocks"])
    assert "Agent One" in str(update["blocks"])

    await slack.message(AGENT, "We refunded the second charge.", STAFF_CHANNEL, thread_ts=card_ts)
    reply = posts(slack, DM)[-1]
    assert reply["text"] == "*Agent One:* We refunded the second charge."
    marks = slack.fake.called("reactions.add")
    assert marks[-1]["name"] == "white_check_mark"
    assert marks[-1]["channel"] == STAFF_CHANNEL

    dm_count = len(posts(slack, DM))
    await slack.message(AGENT, "// refund id R-77", STAFF_CHANNEL, thread_ts=card_ts)
    assert len(posts(slack, DM)) == dm_count  # the note stayed inside
    assert slack.fake.called("reactions.add")[-1]["name"] == "lock"

    await slack.press(AGENT, "ticket:close:1", STAFF_CHANNEL)
    form = slack.fake.called("views.open")[-1]
    assert '"callback_id": "ticket_close"' in form["view"] or "ticket_close" in str(form["view"])
    status, _ = await slack.submit(
        AGENT,
        "ticket_close",
        1,
        {
            "resolution": {"value": {"type": "plain_text_input", "value": "refunded"}},
            "followup": {"value": {"type": "plain_text_input", "value": "3d"}},
        },
    )
    assert status == 200
    farewell, csat = posts(slack, DM)[-2:]
    assert "closed ticket #1: refunded" in farewell["text"]
    rating_buttons = [e["action_id"] for e in csat["blocks"][-1]["elements"]]
    assert rating_buttons[0] == "csat:1:1"
    assert rating_buttons[-1] == "csat:help:1"

    await slack.press(CUSTOMER, "csat:5:1", DM)
    assert "rated this ticket 5/5" in posts(slack, STAFF_CHANNEL, card_ts)[-1]["text"]


async def test_help_channel_intake_and_relay_both_ways(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "VPN drops every hour", HELP_CHANNEL)
    ack = posts(slack, HELP_CHANNEL)[0]
    customer_ts = ack["thread_ts"]
    assert "ticket #1" in ack["text"]
    card_ts = _card_ts(slack)
    await slack.message(CUSTOMER, "also on wifi", HELP_CHANNEL, thread_ts=customer_ts)
    assert "also on wifi" in posts(slack, STAFF_CHANNEL, card_ts)[-1]["text"]
    await slack.message(AGENT, "Which client version?", STAFF_CHANNEL, thread_ts=card_ts)
    answer = posts(slack, HELP_CHANNEL, customer_ts)[-1]
    assert answer["text"] == "*Agent One:* Which client version?"
    # an agent writing in the customer's thread is not taken for the customer
    before = len(posts(slack, STAFF_CHANNEL, card_ts))
    await slack.message(AGENT2, "(looking)", HELP_CHANNEL, thread_ts=customer_ts)
    assert len(posts(slack, STAFF_CHANNEL, card_ts)) == before


async def test_commands_mentions_and_refusals(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Printer jam", DM, channel_type="im")
    card_ts = _card_ts(slack)
    listed = await slack.command(AGENT, "list")
    assert "#1" in listed
    assert "Printer jam" in listed
    missing = await slack.command(AGENT, "claim")
    assert "Which ticket?" in missing
    refused = await slack.command(CUSTOMER, "close #1")
    assert "Only support staff" in refused
    await slack.message(AGENT, "<@UBOT> claim", STAFF_CHANNEL, thread_ts=card_ts)
    await slack.send(
        "events_api",
        {
            "token": "x",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": "EvMention1",
            "event_time": 1,
            "event": {
                "type": "app_mention",
                "channel": STAFF_CHANNEL,
                "user": AGENT,
                "text": "<@UBOT> claim",
                "ts": slack.fake.next_ts(),
                "thread_ts": card_ts,
            },
        },
    )
    ephemeral = slack.fake.called("chat.postEphemeral")[-1]
    assert ephemeral["text"] == "You claimed ticket #1."
    assert ephemeral["user"] == AGENT
    assert not [p for p in posts(slack, DM) if "claim" in p["text"]]  # the mention was not relayed
    await slack.press(CUSTOMER, "ticket:escalate:1", STAFF_CHANNEL)
    assert not slack.fake.called("views.open")
    assert "Only support staff" in str(slack.fake.responses[-1])


async def test_customer_text_pings_nobody(slack: SlackDesk) -> None:
    await slack.message(
        CUSTOMER,
        "<!channel> <!here> <!everyone> <!subteam^S123> & <@UAGENT0001>",
        DM,
        channel_type="im",
    )
    relay = posts(slack, STAFF_CHANNEL, _card_ts(slack))[0]["text"]
    assert "<!" not in relay
    assert "<@" not in relay
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S123&gt; &amp;" in relay


async def test_a_retried_event_creates_one_ticket(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "hello", DM, channel_type="im", event_id="EvSame")
    await slack.message(CUSTOMER, "hello", DM, channel_type="im", event_id="EvSame", retry=1)
    assert len(posts(slack, STAFF_CHANNEL, None)) == 2  # one card, one relay
    assert len(posts(slack, DM)) == 1


async def test_a_429_is_waited_out_and_order_is_kept(slack: SlackDesk) -> None:
    # the first post (the customer's acknowledgement: customers go first) is refused
    slack.fake.fail(
        "chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}
    )
    await slack.message(CUSTOMER, "first", DM, channel_type="im")
    await slack.message(CUSTOMER, "second", DM, channel_type="im")
    assert not slack.fake.messages(DM)  # waits the 30 s Slack asked for
    staff = [p.get("text", "") for p in posts(slack, STAFF_CHANNEL)]
    assert staff[1:] == ["*Alice:* first", "*Alice:* second"]  # another channel: not held up
    slack.clock.advance(timedelta(seconds=29))
    await slack.app.sender.drain()
    assert not slack.fake.messages(DM)
    assert len(posts(slack, DM)) == 1  # not even tried
    slack.clock.advance(timedelta(seconds=1))
    await slack.app.sender.drain()
    (ack,) = slack.fake.messages(DM)
    assert "thanks for reaching out" in ack["text"]


async def test_japanese_customer_gets_japanese_acknowledgement(slack: SlackDesk) -> None:
    await slack.message("UJAPAN0001", "至急: 返金してください", "D0JAPAN001", channel_type="im")
    ack = posts(slack, "D0JAPAN001")[0]["text"]
    assert "お問い合わせありがとうございます" in ack
    assert "15分" in ack


async def test_edits_deletions_and_bots_open_nothing(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "edited", DM, channel_type="im", subtype="message_changed")
    await slack.message(CUSTOMER, "", DM, channel_type="im", subtype="message_deleted")
    await slack.message("UOTHERBOT1", "beep", DM, channel_type="im", bot_id="B999")
    assert not posts(slack, STAFF_CHANNEL)


async def test_files_travel_as_names_and_links(slack: SlackDesk) -> None:
    await slack.message(
        CUSTOMER,
        "see attached",
        DM,
        channel_type="im",
        subtype="file_share",
        files=[{"name": "error.png", "permalink": "https://acme.slack.com/f/1"}],
    )
    relay = posts(slack, STAFF_CHANNEL, _card_ts(slack))[0]["text"]
    assert "error.png: https://acme.slack.com/f/1" in relay


async def test_http_mode_rejects_bad_signatures(tmp_path: Path) -> None:
    async with running_fake_slack() as fake:
        desk = await start(fake, tmp_path)
        try:
            assert desk.http is not None
            body = '{"type":"event_callback","event":{"type":"message"}}'
            for headers in (sign(body, secret="wrong"), sign(body, timestamp=1)):
                async with desk.http.post(
                    desk.url, data=body, headers={"Content-Type": "application/json", **headers}
                ) as response:
                    assert response.status == 401
            async with desk.http.get(desk.url.replace("/slack/events", "/healthz")) as health:
                assert health.status == 200
        finally:
            await stop(desk)


def _card_ts(slack: SlackDesk) -> str:
    """The ts Slack gave the first ticket card: the staff thread's root."""
    card = next(
        c
        for c in slack.fake.calls
        if c.method == "chat.postMessage"
        and c.result
        and c.args["channel"] == STAFF_CHANNEL
        and not c.args.get("thread_ts")
    )
    return str(card.result["ts"])


async def test_a_rejected_token_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    from bot.config import ConfigError

    async with running_fake_slack() as fake:
        fake.rejected_tokens.add("xoxb-test-token")
        with pytest.raises(ConfigError) as caught:
            await start(fake, tmp_path)
    assert caught.value.variable == "SLACK_BOT_TOKEN"
    assert "invalid_auth" in str(caught.value)


async def test_long_messages_are_split_not_cut(slack: SlackDesk) -> None:
    words = " ".join(f"word{i}" for i in range(9000))  # about 80,000 characters
    await slack.message(CUSTOMER, words, DM, channel_type="im")
    parts = [p["text"] for p in posts(slack, STAFF_CHANNEL, _card_ts(slack))]
    assert len(parts) > 1
    assert all(len(p) <= 3000 for p in parts)
    joined = " ".join(parts).replace("*Alice:* ", "", 1)
    assert joined.split() == words.split()


async def test_still_need_help_reopens_and_tells_the_assignee(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Screen flickers", DM, channel_type="im")
    await slack.press(AGENT, "ticket:claim:1", STAFF_CHANNEL)
    await slack.command(AGENT, "close #1 new cable")
    await slack.press(CUSTOMER, "csat:help:1", DM)
    notice = posts(slack, STAFF_CHANNEL, _card_ts(slack))[-1]["text"]
    assert notice.startswith(f"<@{AGENT}> ")
    assert "still need help" in notice
    card = slack.fake.called("chat.update")[-1]
    assert "Reopened" in str(card["blocks"])
    assert "ticket:close:1" in str(card["blocks"])
    assert "reopened ticket #1" in posts(slack, DM)[-1]["text"]


async def test_an_undeliverable_reply_is_reported_in_the_thread(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "hello?", DM, channel_type="im")
    card_ts = _card_ts(slack)
    slack.fake.fail("chat.postMessage", 200, {"ok": False, "error": "user_disabled"})
    await slack.message(AGENT, "Are you still there?", STAFF_CHANNEL, thread_ts=card_ts)
    notice = posts(slack, STAFF_CHANNEL, card_ts)[-1]["text"]
    assert "could not be delivered" in notice
    assert "user_disabled" in notice
    assert not [r for r in slack.fake.called("reactions.add") if r["name"] == "white_check_mark"]


async def test_staff_group_members_count_as_staff(tmp_path: Path) -> None:
    from dataclasses import replace

    from adapters.slack.app import SlackAdapter
    from tests.adapters.slack_harness import settings

    async with running_fake_slack() as fake:
        fake.staff, fake.group = {AGENT}, {"UGROUP0001"}
        plain = SlackAdapter(settings(fake))
        grouped = SlackAdapter(replace(settings(fake), staff_group="S0STAFF001"))
        assert not await plain.people.is_staff("UGROUP0001")
        assert await grouped.people.is_staff("UGROUP0001")
        assert await grouped.people.is_staff(AGENT)
        assert fake.called("usergroups.users.list")[-1]["usergroup"] == "S0STAFF001"


async def test_leads_are_the_members_of_the_leads_channel(tmp_path: Path) -> None:
    from dataclasses import replace

    from adapters.slack.app import SlackAdapter
    from tests.adapters.slack_harness import settings

    async with running_fake_slack() as fake:
        fake.staff, fake.channel_members = {AGENT, AGENT2}, {"CLEADS0001": {AGENT2}}
        with_leads = SlackAdapter(replace(settings(fake), leads_channel="CLEADS0001"))
        assert await with_leads.people.is_lead(AGENT2)
        assert not await with_leads.people.is_lead(AGENT)
        assert not await SlackAdapter(settings(fake)).people.is_lead(AGENT2)


async def test_forms_opened_in_a_rush_keep_to_slacks_tier_for_views_open(slack: SlackDesk) -> None:
    # the listeners' calls go through the adapter's paced client, on the test's clock
    slack.adapter.client.pacer = Pacer(RunningClock(slack.clock))
    await slack.message(CUSTOMER, "Invoice wrong", DM, channel_type="im")
    began = slack.clock.now()
    presses = 20
    for _ in range(presses):
        await slack.press(AGENT, "ticket:escalate:1", STAFF_CHANNEL)
    assert len(slack.fake.called("views.open")) == presses
    # Tier 4 (100 a minute, bursts of 16): the last four waited their turns, 0.6 s each
    waited = (slack.clock.now() - began).total_seconds()
    assert waited >= (presses - 16) * 0.6 - 0.01
    assert not slack.fake.refused


async def test_escalate_form_offers_the_teams_and_checks_the_choice(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Invoice wrong", DM, channel_type="im")
    await slack.press(AGENT, "ticket:escalate:1", STAFF_CHANNEL)
    view = slack.fake.called("views.open")[-1]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    options = [o["value"] for o in view["blocks"][0]["element"]["options"]]
    assert view["callback_id"] == "ticket_escalate"
    assert options == [
        "tier2",
        "billing",
        "engineering",
    ]

    def chosen(team: str) -> dict:  # type: ignore[type-arg]
        return {
            "team": {"value": {"type": "static_select", "selected_option": {"value": team}}},
            "reason": {"value": {"type": "plain_text_input", "value": "VAT missing"}},
        }

    status, body = await slack.submit(AGENT, "ticket_escalate", 1, chosen("marketing"))
    assert status == 200
    assert "response_action" in body
    assert "tier2, billing" in body
    await slack.submit(AGENT, "ticket_escalate", 1, chosen("billing"))
    card = slack.fake.called("chat.update")[-1]
    assert "Escalated" in str(card["blocks"])
    assert "billing" in str(card["blocks"])
    note = posts(slack, STAFF_CHANNEL, _card_ts(slack))[-1]["text"]
    assert "escalated this ticket to billing (level 1): VAT missing" in note


def _shortcut(user: str, author: str, text: str, ts: str) -> dict:  # type: ignore[type-arg]
    return {
        "type": "message_action",
        "callback_id": "create_ticket",
        "trigger_id": "trig-s",
        "response_url": "http://127.0.0.1:9/unused",
        "team": {"id": "T0001"},
        "channel": {"id": "CGENERAL01", "name": "general"},
        "user": {"id": user},
        "message_ts": ts,
        "message": {"type": "message", "user": author, "ts": ts, "text": text},
    }


async def test_message_shortcut_turns_a_message_into_a_ticket(slack: SlackDesk) -> None:
    ts = slack.fake.next_ts()
    await slack.send("interactive", _shortcut(CUSTOMER, CUSTOMER, "pls help", ts))
    assert not posts(slack, STAFF_CHANNEL)  # only staff may do this
    assert "Only support staff" in slack.fake.called("chat.postEphemeral")[-1]["text"]
    await slack.send("interactive", _shortcut(AGENT, CUSTOMER, "Export to CSV fails", ts))
    card = posts(slack, STAFF_CHANNEL)[0]
    assert "#1 Export to CSV fails" in str(card["blocks"])
    assert "Alice" in str(card["blocks"])
    ack = posts(slack, "CGENERAL01")[0]
    assert ack["thread_ts"] == ts
    assert "ticket #1" in ack["text"]  # answered in its thread
    assert "Opened ticket #1" in slack.fake.called("chat.postEphemeral")[-1]["text"]


async def test_reopen_button_on_a_closed_card(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Need a receipt", DM, channel_type="im")
    await slack.command(AGENT, "close #1 sent")
    closed = slack.fake.called("chat.update")[-1]
    assert [e["action_id"] for e in closed["blocks"][-1]["elements"]] == ["ticket:reopen:1"]
    await slack.press(AGENT, "ticket:reopen:1", STAFF_CHANNEL)
    reopened = slack.fake.called("chat.update")[-1]
    assert "Reopened" in str(reopened["blocks"])
    assert "reopened ticket #1" in posts(slack, DM)[-1]["text"]


async def test_an_unreachable_slack_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    from dataclasses import replace

    from adapters.slack.app import SlackAdapter
    from bot.config import ConfigError
    from tests.adapters.slack_harness import settings

    async with running_fake_slack() as fake:
        nowhere = replace(settings(fake), api_url="http://127.0.0.1:9/api/")
    with pytest.raises(ConfigError) as caught:
        await SlackAdapter(nowhere).check()
    assert caught.value.variable == "SLACK_API_URL"
    assert "127.0.0.1:9" in str(caught.value)


async def test_a_burst_of_customers_each_get_a_ticket_and_an_answer(slack: SlackDesk) -> None:
    customers = [f"UBURST{i:04d}" for i in range(15)]
    slack.fake.users.update({c: {"name": f"Customer {i}"} for i, c in enumerate(customers)})
    await asyncio.gather(
        *(
            slack.message(c, f"order {i} is late", f"DBURST{i:04d}", channel_type="im")
            for i, c in enumerate(customers)
        )
    )
    await slack.adapter.settled()
    await slack.app.sender.drain()
    cards = [p for p in posts(slack, STAFF_CHANNEL) if "thread_ts" not in p]
    numbers = sorted(int(c["text"].split("#")[1].split()[0]) for c in cards)
    assert numbers == list(range(1, 16))
    for i in range(15):
        (ack,) = posts(slack, f"DBURST{i:04d}")
        assert f"Hi Customer {i}" in ack["text"]


async def test_a_ticket_is_assigned_only_to_a_member_of_the_staff(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Printer jam", DM, channel_type="im")
    refused = await slack.command(AGENT, f"assign #1 <@{CUSTOMER}>")
    assert refused.startswith("Alice is not on the support staff, so ticket #1 stays as it is.")
    assigned = await slack.command(AGENT, f"assign #1 <@{AGENT2}>")
    assert assigned == "Ticket #1 is now assigned to Agent Two."


async def test_a_stranger_pressing_a_customers_button_is_told_and_nothing_changes(
    slack: SlackDesk,
) -> None:
    await slack.message(CUSTOMER, "Screen flickers", DM, channel_type="im")
    answered = len(slack.fake.responses)
    await slack.press("UCUST00099", "csat:1:1", "D-OTHER")
    [told] = slack.fake.responses[answered:]
    assert told["text"].startswith("That button belongs to a ticket that is not yours")
    assert told["response_type"] == "ephemeral"


async def test_a_blocked_customer_is_told_once_and_reaches_no_one(slack: SlackDesk) -> None:
    blocked = await slack.command(AGENT, f"block <@{CUSTOMER}> 7d spam")
    assert blocked.startswith("Alice is blocked until ")
    await slack.message(CUSTOMER, "Buy cheap watches", DM, channel_type="im")
    await slack.message(CUSTOMER, "Buy them now", DM, channel_type="im")
    await slack.adapter.settled()
    await slack.app.sender.drain()
    [notice] = posts(slack, DM)
    assert "cannot take your messages here until " in notice["text"]
    assert posts(slack, STAFF_CHANNEL) == []  # no card, no relay
    listed = await slack.command(AGENT, "blocked")
    assert "Alice: blocked by Agent One on " in listed
    assert await slack.command(AGENT, f"unblock <@{CUSTOMER}>") == (
        "Alice is no longer blocked; their messages open tickets again."
    )
    await slack.message(CUSTOMER, "My order is late", DM, channel_type="im")
    await slack.adapter.settled()
    await slack.app.sender.drain()
    assert len([p for p in posts(slack, STAFF_CHANNEL) if "thread_ts" not in p]) == 1
