"""Block Kit for cards, buttons and the Escalate / Close / Saved reply forms (within Slack's
limits); the forms speak the staff's language, from the message catalog."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.text import TEXT_LIMIT, mrkdwn, split
from bot.kinds import MessageKind
from bot.model import Action, OutboundMessage
from bot.ports import DeskPort

ESCALATE_FORM = "ticket_escalate"
CLOSE_FORM = "ticket_close"
SNIPPET_FORM = "ticket_snippet"
SNIPPET_BUTTON = "snippet:pick"
MAX_BLOCKS = 50
MAX_OPTIONS = 100  # a static_select's options
# Slack's limits on a modal's plain texts: title and buttons, labels, placeholders, options
_TITLE, _LABEL, _PLACEHOLDER, _OPTION = 24, 2000, 150, 75
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
    Slack offers (elsewhere agents write `!name` or `/ticket send`), before its danger ones.
    A card carries that button's label in the staff's language; one written before the
    button existed carries none, and gets it with its next update."""
    number = message.ticket_number or message.data.get("number")
    label = str(message.data.get("saved_reply_label") or "")
    closed = message.data.get("status") == "closed"
    if message.kind not in _CARDS or closed or not number or not label:
        return message.actions
    pick = Action(f"{SNIPPET_BUTTON}:{number}", label)
    at = next((i for i, a in enumerate(message.actions) if a.style == "danger"), None)
    at = len(message.actions) if at is None else at
    return [*message.actions[:at], pick, *message.actions[at:]]


def message_blocks(body: str, actions: list[Action]) -> list[dict[str, Any]]:
    """Sections for the (escaped) text, then one row of buttons."""
    return mrkdwn_blocks(mrkdwn(body), actions)


def mrkdwn_blocks(text: str, actions: list[Action]) -> list[dict[str, Any]]:
    """Sections for text already in mrkdwn (its links made), then one row of buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in split(text, TEXT_LIMIT)
    ][: MAX_BLOCKS - 1]
    if actions:
        blocks.append({"type": "actions", "elements": [button(a) for a in actions[:25]]})
    return blocks


def escalate_form(desk: DeskPort, number: int) -> dict[str, Any]:
    options = [{"text": _plain(team, _OPTION), "value": team} for team in desk.teams]
    team = _select(options, desk.text("staff_form_team_placeholder"))
    return _form(
        desk,
        ESCALATE_FORM,
        number,
        desk.text("staff_form_escalate_title", number=number),
        desk.text("staff_form_escalate_submit"),
        [
            _field("team", desk.text("staff_form_team"), team, optional=False),
            _field("reason", desk.text("staff_form_reason"), _text_input(multiline=True)),
        ],
    )


def close_form(desk: DeskPort, number: int) -> dict[str, Any]:
    return _form(
        desk,
        CLOSE_FORM,
        number,
        desk.text("staff_form_close_title", number=number),
        desk.text("staff_form_close_submit"),
        [
            _field("resolution", desk.text("staff_form_resolution"), _text_input(multiline=True)),
            _field("followup", desk.text("staff_form_followup"), _text_input()),
        ],
    )


def snippet_form(desk: DeskPort, number: int, names: list[str], channel: str) -> dict[str, Any]:
    """A pick of the saved replies; with none, how to add one (and no Send button)."""
    title = desk.text("staff_form_snippet_title", number=number)
    if not names:
        return _form(desk, SNIPPET_FORM, number, title, "", [_note(desk.text("snippets_none"))])
    options = [{"text": _plain(name, _OPTION), "value": name} for name in names[:MAX_OPTIONS]]
    pick = _select(options, desk.text("staff_form_snippet_placeholder"))
    fields = [_field("snippet", desk.text("staff_form_snippet"), pick, optional=False)]
    if len(names) > MAX_OPTIONS:
        shown = desk.text("staff_form_snippets_first", shown=MAX_OPTIONS, n=len(names))
        fields.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(shown)}]})
    form = _form(desk, SNIPPET_FORM, number, title, desk.text("staff_form_snippet_submit"), fields)
    # where the agent pressed the button, to answer them there
    form["private_metadata"] = json.dumps({"number": number, "channel": channel})
    return form


def _note(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text)[:TEXT_LIMIT]}}


def _form(
    desk: DeskPort,
    callback_id: str,
    number: int,
    title: str,
    submit: str,
    fields: list[dict[str, Any]],
) -> dict[str, Any]:
    """A modal in the staff's language; one with nothing to fill in has no submit button,
    and its close button says "Close" rather than "Cancel"."""
    close = desk.text("staff_form_cancel" if submit else "staff_form_dismiss")
    form: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"number": number}),
        "title": _plain(title, _TITLE),
        "close": _plain(close, _TITLE),
        "blocks": fields,
    }
    if submit:
        form["submit"] = _plain(submit, _TITLE)
    return form


def _field(
    block_id: str, label: str, element: dict[str, Any], optional: bool = True
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label, _LABEL),
        "element": element,
    }


def _select(options: list[dict[str, Any]], placeholder: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "value",
        "placeholder": _plain(placeholder, _PLACEHOLDER),
        "options": options,
    }


def _text_input(multiline: bool = False) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "value", "multiline": multiline}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def form_value(view: dict[str, Any], block: str) -> str:
    value = view["state"]["values"].get(block, {}).get("value", {})
    if value.get("type") == "static_select":
        return str((value.get("selected_option") or {}).get("value", ""))
    return str(value.get("value") or "")
