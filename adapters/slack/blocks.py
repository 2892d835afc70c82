"""Block Kit for cards, buttons and the Escalate / Close / Saved reply forms (within Slack's
limits)."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.text import TEXT_LIMIT, mrkdwn, split
from bot.kinds import MessageKind
from bot.model import Action, OutboundMessage

ESCALATE_FORM = "ticket_escalate"
CLOSE_FORM = "ticket_close"
SNIPPET_FORM = "ticket_snippet"
SNIPPET_BUTTON = "snippet:pick"
MAX_BLOCKS = 50
MAX_OPTIONS = 100  # a static_select's options
_CARDS = (MessageKind.CARD, MessageKind.CARD_UPDATE)


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


def slack_actions(message: OutboundMessage) -> list[Action]:
    """The message's buttons; an open ticket's card also gets "Saved reply", which only
    Slack offers (elsewhere agents write `!name` or `/ticket send`), before its danger ones."""
    number = message.ticket_number or message.data.get("number")
    if message.kind not in _CARDS or message.data.get("status") == "closed" or not number:
        return message.actions
    label = str(message.data.get("saved_reply_label") or "Saved reply")
    pick = Action(f"{SNIPPET_BUTTON}:{number}", label)
    at = next((i for i, a in enumerate(message.actions) if a.style == "danger"), None)
    at = len(message.actions) if at is None else at
    return [*message.actions[:at], pick, *message.actions[at:]]


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


def snippet_form(number: int, names: list[str], none_text: str, channel: str) -> dict[str, Any]:
    """A pick of the saved replies; with none, how to add one (and no Send button)."""
    title = f"Saved reply #{number}"
    if not names:
        form = _form(SNIPPET_FORM, number, title, "", [_note(none_text)])
        form["close"] = {"type": "plain_text", "text": "Close"}
        return form
    options = [
        {"text": {"type": "plain_text", "text": name[:75]}, "value": name}
        for name in names[:MAX_OPTIONS]
    ]
    pick = {"type": "static_select", "action_id": "value", "options": options}
    fields = [_field("snippet", "Send to the customer, in their language", pick, optional=False)]
    if len(names) > MAX_OPTIONS:
        shown = mrkdwn(f"The first {MAX_OPTIONS} of {len(names)}: `/ticket send <name>` sends any.")
        fields.append({"type": "context", "elements": [{"type": "mrkdwn", "text": shown}]})
    form = _form(SNIPPET_FORM, number, title, "Send", fields)
    # where the agent pressed the button, to answer them there
    form["private_metadata"] = json.dumps({"number": number, "channel": channel})
    return form


def _note(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text)[:TEXT_LIMIT]}}


def _form(
    callback_id: str, number: int, title: str, submit: str, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    form: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"number": number}),
        "title": {"type": "plain_text", "text": title[:24]},
        "blocks": fields,
    }
    if submit:  # a form with nothing to fill in has no submit button
        form["submit"] = {"type": "plain_text", "text": submit}
    return form


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
