"""Block Kit for cards, buttons and the Escalate / Close forms (within Slack's limits)."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.text import TEXT_LIMIT, mrkdwn, split
from bot.model import Action

ESCALATE_FORM = "ticket_escalate"
CLOSE_FORM = "ticket_close"
MAX_BLOCKS = 50


def button(action: Action) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": action.label[:75], "emoji": True},
        "action_id": action.id,
        "value": action.id,
    }
    if action.style in ("primary", "danger"):
        element["style"] = action.style
    return element


def message_blocks(body: str, actions: list[Action]) -> list[dict[str, Any]]:
    """Sections for the (escaped) text, then one row of buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in split(mrkdwn(body), TEXT_LIMIT)
    ][: MAX_BLOCKS - 1]
    if actions:
        blocks.append({"type": "actions", "elements": [button(a) for a in actions[:25]]})
    return blocks


def escalate_form(number: int, teams: tuple[str, ...], title: str) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": team}, "value": team} for team in teams]
    return {
        "type": "modal",
        "callback_id": ESCALATE_FORM,
        "private_metadata": json.dumps({"number": number}),
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": "Escalate"},
        "blocks": [
            {
                "type": "input",
                "block_id": "team",
                "label": {"type": "plain_text", "text": "Team"},
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
        ],
    }


def close_form(number: int, title: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CLOSE_FORM,
        "private_metadata": json.dumps({"number": number}),
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": "Close ticket"},
        "blocks": [
            {
                "type": "input",
                "block_id": "resolution",
                "optional": True,
                "label": {"type": "plain_text", "text": "Resolution"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
            {
                "type": "input",
                "block_id": "followup",
                "optional": True,
                "label": {"type": "plain_text", "text": "Follow up in (e.g. 3d)"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
        ],
    }


def form_value(view: dict[str, Any], block: str) -> str:
    value = view["state"]["values"].get(block, {}).get("value", {})
    if value.get("type") == "static_select":
        return str((value.get("selected_option") or {}).get("value", ""))
    return str(value.get("value") or "")
