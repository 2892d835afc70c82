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
    team = {"type": "static_select", "action_id": "value", "options": options}
    return _form(
        ESCALATE_FORM,
        number,
        title,
        "Escalate",
        [
            _field("team", "Team", team, optional=False),
            _field("reason", "Reason", _text_input(multiline=True)),
        ],
    )


def close_form(number: int, title: str) -> dict[str, Any]:
    return _form(
        CLOSE_FORM,
        number,
        title,
        "Close ticket",
        [
            _field("resolution", "Resolution", _text_input(multiline=True)),
            _field("followup", "Follow up in (e.g. 3d)", _text_input()),
        ],
    )


def _form(
    callback_id: str, number: int, title: str, submit: str, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"number": number}),
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": submit},
        "blocks": fields,
    }


def _field(
    block_id: str, label: str, element: dict[str, Any], optional: bool = True
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def _text_input(multiline: bool = False) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "value", "multiline": multiline}


def form_value(view: dict[str, Any], block: str) -> str:
    value = view["state"]["values"].get(block, {}).get("value", {})
    if value.get("type") == "static_select":
        return str((value.get("selected_option") or {}).get("value", ""))
    return str(value.get("value") or "")
