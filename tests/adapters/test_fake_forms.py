"""The fakes' forms behave as the platforms' do: Slack's views (state kept through updates,
stale hashes refused, invalid views refused), the bot's channels and DMs, and the limits
Discord puts on forms and select menus."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.fake_discord_components import callback_refusal
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.fake_slack_views import ViewStore
from tests.adapters.fake_slack_workspace import Workspace


def _modal(*blocks: dict[str, Any], title: str = "Form") -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": list(blocks),
    }


def _text(block_id: str, initial: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id},
        "element": element,
    }


async def test_slack_views_keep_what_was_typed_and_refuse_a_stale_hash() -> None:
    async with running_fake_slack() as fake:
        client = AsyncWebClient(token="xoxb-1", base_url=fake.base_url + "api/")
        trigger = fake.views.trigger("U1")
        opened = await client.views_open(trigger_id=trigger, view=_modal(_text("a"), _text("b")))
        view = opened["view"]
        fake.views.type_in(view["id"], "a", "kept")
        fake.views.type_in(view["id"], "b", "dropped")
        updated = await client.views_update(
            view_id=view["id"], hash=view["hash"], view=_modal(_text("a"), _text("c", "new"))
        )
        state = updated["view"]["state"]["values"]
        assert state["a"]["value"]["value"] == "kept"  # same block and action ids
        assert state["c"]["value"]["value"] == "new"
        assert "b" not in state
        with pytest.raises(SlackApiError) as stale:
            await client.views_update(view_id=view["id"], hash=view["hash"], view=_modal())
        assert stale.value.response["error"] == "hash_conflict"
        with pytest.raises(SlackApiError) as long_title:
            await client.views_open(trigger_id=trigger, view=_modal(title="x" * 25))
        assert long_title.value.response["error"] == "invalid_arguments"


def test_slack_submits_only_filled_in_forms_and_dispatches_only_when_asked() -> None:
    views = ViewStore()
    select = {
        "type": "static_select",
        "action_id": "pick",
        "options": [{"text": {"type": "plain_text", "text": "One"}, "value": "1"}],
    }
    pick = {
        "type": "input",
        "block_id": "p",
        "label": {"type": "plain_text", "text": "Pick"},
        "element": select,
    }
    views.triggers["t"] = "U1"
    opened = views.answer("views.open", {"trigger_id": "t", "view": _modal(pick, _text("a"))})
    view_id = opened["view"]["id"]
    assert views.pick(view_id, "pick", "1") is None  # no dispatch_action: no block_actions
    with pytest.raises(AssertionError, match="a is required"):
        views.submission(view_id)
    views.type_in(view_id, "a", "x")
    assert views.submission(view_id)["view"]["state"]["values"]["p"]["pick"]["selected_option"]
    views.answered(view_id, '{"response_action": "errors", "errors": {"a": "no"}}')
    assert views.views[view_id].errors == {"a": "no"}
    views.answered(view_id, "")
    assert views.views[view_id].closed


def test_slack_lists_the_bots_channels_by_page_and_opens_one_dm_per_user() -> None:
    workspace = Workspace()
    for n in range(5):
        workspace.invite(f"C{n}", private=n == 4)
    workspace.invite("CARCHIVED", archived=True)
    seen: list[str] = []
    args: dict[str, Any] = {
        "types": "public_channel,private_channel",
        "exclude_archived": "1",
        "limit": "2",
    }
    while True:
        page = workspace.answer("users.conversations", args)
        seen += [c["id"] for c in page["channels"]]
        if not page["response_metadata"]["next_cursor"]:
            break
        args["cursor"] = page["response_metadata"]["next_cursor"]
    assert seen == ["C0", "C1", "C2", "C3", "C4"]
    public = workspace.answer("users.conversations", {})
    assert "C4" not in [c["id"] for c in public["channels"]]
    first = workspace.answer("conversations.open", {"users": "U1"})
    again = workspace.answer("conversations.open", {"users": "U1"})
    assert first["channel"]["id"] == again["channel"]["id"]
    assert again["already_open"]


def _select(*labels: str, emoji: dict[str, Any] | None = None) -> dict[str, Any]:
    options: list[dict[str, Any]] = [{"label": t, "value": str(i)} for i, t in enumerate(labels)]
    if emoji:
        options[0]["emoji"] = emoji
    return {
        "type": 4,
        "data": {
            "components": [
                {"type": 1, "components": [{"type": 3, "custom_id": "s", "options": options}]}
            ],
            "flags": 64,
        },
    }


def _form(*labels: str, title: str = "Form") -> dict[str, Any]:
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": f"f{i}", "label": label}]}
        for i, label in enumerate(labels)
    ]
    return {"type": 9, "data": {"custom_id": "form", "title": title, "components": rows}}


def test_discord_refuses_forms_and_menus_past_its_limits() -> None:
    assert callback_refusal(_form("a", "b", "c", "d", "e")) is None
    assert callback_refusal(_form("a", "b", "c", "d", "e", "f")) is not None
    assert callback_refusal(_form("x" * 46)) is not None
    assert callback_refusal(_form("a", title="x" * 46)) is not None
    assert callback_refusal(_select(*"abc", emoji={"id": None, "name": "💳"})) is None
    assert callback_refusal(_select(*[f"o{n}" for n in range(26)])) is not None
    assert callback_refusal(_select("a", emoji={"id": None, "name": ":bug:"})) is not None
