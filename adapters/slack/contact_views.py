"""Block Kit for "Contact support": the App Home tab with its button, and the form.

The form starts with the pick of a category (an input whose select dispatches its action, so
the form can be updated with that category's questions), then the questions, then the
description. Each question's block id names its category and place, so answers typed for one
category never show under another's questions; the description keeps its id, so Slack keeps
what was typed there when the form changes. With no categories the form is the description
alone."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from adapters.intake_forms import (
    ANSWER_CHARS,
    DESCRIPTION_CHARS,
    OTHER,
    find,
    shown,
)
from adapters.slack.text import TEXT_LIMIT, mrkdwn
from bot.ports import CategoryChoice, DeskPort

HOME_VIEW = "supportbot_home"
CONTACT_BUTTON = "contact:open"
CONTACT_FORM = "contact_form"
CATEGORY = "contact:category"  # the select's block and action
DESCRIPTION = "description"
_TITLE = 24  # a modal's title and its buttons
_OPTION = 75  # a select option's text
_OPTIONS = 100


def home_view(desk: DeskPort, locale: str) -> dict[str, Any]:
    """The Home tab; its metadata fingerprints what it shows, so an unchanged tab is not
    published again each time it is opened."""
    label = desk.text("button_contact_support", locale)
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": mrkdwn(desk.text("panel_text", locale))},
        },
        {
            "type": "actions",
            "block_id": "contact",
            "elements": [
                {
                    "type": "button",
                    "action_id": CONTACT_BUTTON,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": label[:_OPTION], "emoji": True},
                }
            ],
        },
    ]
    fingerprint = hashlib.sha256(json.dumps(blocks, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "type": "home",
        "callback_id": HOME_VIEW,
        "private_metadata": fingerprint,
        "blocks": blocks,
    }


def contact_form(
    desk: DeskPort, locale: str, picked: str = "", description: str = ""
) -> dict[str, Any]:
    """The form, with the questions of the category `picked` (if any); `description` fills
    in the description (from a message the shortcut was used on)."""
    choices = desk.categories(locale)
    blocks: list[dict[str, Any]] = []
    choice = find(desk, picked, locale) if picked else None
    if choices:
        blocks.append(_category_pick(desk, choices, locale, picked))
    if choice is not None:
        answer = {"type": "plain_text_input", "action_id": "value", "max_length": ANSWER_CHARS}
        blocks.extend(
            _input(question_block(choice.name, i), question, dict(answer))
            for i, question in enumerate(choice.questions)
        )
    text_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": DESCRIPTION_CHARS,
    }
    if description.strip():
        text_input["initial_value"] = description[:DESCRIPTION_CHARS]
    blocks.append(_input(DESCRIPTION, desk.text("form_description", locale), text_input))
    title = desk.text("button_open_ticket", locale)[:_TITLE]
    return {
        "type": "modal",
        "callback_id": CONTACT_FORM,
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "submit": {"type": "plain_text", "text": title, "emoji": True},
        "private_metadata": json.dumps({"category": choice.name if choice else ""}),
        "blocks": blocks,
    }


def notice_view(desk: DeskPort, locale: str, text: str) -> dict[str, Any]:
    """What the form turns into when no ticket could be opened (a refusal, said whole)."""
    return {
        "type": "modal",
        "callback_id": CONTACT_FORM,
        "title": {"type": "plain_text", "text": desk.text("button_open_ticket", locale)[:_TITLE]},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text)[:TEXT_LIMIT]}}
        ],
    }


def question_block(category: str, index: int) -> str:
    return f"q:{category}:{index}"


def picked_in(values: dict[str, Any]) -> str:
    """The category picked in a form's state ("" when none was offered)."""
    state = values.get(CATEGORY, {}).get(CATEGORY, {})
    return str((state.get("selected_option") or {}).get("value", ""))


def typed_in(values: dict[str, Any], block: str) -> str:
    return str(values.get(block, {}).get("value", {}).get("value") or "")


def _category_pick(
    desk: DeskPort, choices: list[CategoryChoice], locale: str, picked: str
) -> dict[str, Any]:
    options = [_option(shown(c), c.name) for c in choices[: _OPTIONS - 1]]
    options.append(_option(desk.text("category_other", locale), OTHER))
    prompt = desk.text("category_prompt", locale)
    element: dict[str, Any] = {"type": "static_select", "action_id": CATEGORY, "options": options}
    chosen = next((o for o in options if o["value"] == picked), None)
    if chosen is not None:
        element["initial_option"] = chosen
    block = _input(CATEGORY, prompt, element)
    block["dispatch_action"] = True  # picking one updates the form at once
    return block


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:_OPTION], "emoji": True}, "value": value}


def _input(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label, "emoji": True},
        "element": element,
    }
