"""Views in the fake Slack: modals and Home tabs as Slack keeps them, and the person in front
of them. Facts followed (Slack docs: views.open, views.update, views.publish, the view object,
input blocks, block_actions and view_submission payloads):

- views.open needs a trigger_id; views.update a view_id (or external_id) and, when `hash` is
  given, refuses a stale one with `hash_conflict`; every change gives the view a new hash;
  views.publish puts a Home tab (type "home") for `user_id`;
- a modal's title, submit and close are plain text of at most 24 characters; a modal with
  input blocks needs `submit`; a view holds at most 100 blocks, block ids unique; an input's
  label has at most 2,000 characters; a static_select at most 100 options, each text at most
  75; a plain_text_input's max_length at most 3,000; `dispatch_action` is for input blocks;
- what a person types or picks is the view's state, kept through views.update for the inputs
  whose block_id and action_id stay the same (the rest start from their initial values);
- picking in a select sends block_actions only when it dispatches (in an actions block, or an
  input block with `dispatch_action`); a modal submits only when its required inputs are
  filled in, and answers to its view_submission close it, show errors, or update it.
Refusals answer {"ok": false, "error": "invalid_arguments"} with the reason in
response_metadata.messages, as Slack does."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.adapters.fake_slack_store import parse_json

TITLE_CHARS = 24
MAX_BLOCKS = 100
LABEL_CHARS = 2000
MAX_OPTIONS = 100
OPTION_CHARS = 75
INPUT_CHARS = 3000


@dataclass
class Shown:
    """One view as Slack keeps it: its definition, state and who sees it."""

    id: str
    hash: str
    user: str
    definition: dict[str, Any]
    state: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    closed: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            **self.definition,
            "id": self.id,
            "hash": self.hash,
            "team_id": "T0001",
            "app_id": "A0001",
            "bot_id": "B0001",
            "private_metadata": self.definition.get("private_metadata", ""),
            "callback_id": self.definition.get("callback_id", ""),
            "root_view_id": self.id,
            "state": {"values": json.loads(json.dumps(self.state))},
        }

    def labels(self) -> list[str]:
        """The labels of its input blocks, top to bottom."""
        return [b["label"]["text"] for b in self.definition["blocks"] if b["type"] == "input"]

    def block_ids(self) -> list[str]:
        return [str(b.get("block_id", "")) for b in self.definition["blocks"]]


@dataclass
class ViewStore:
    views: dict[str, Shown] = field(default_factory=dict)
    homes: dict[str, str] = field(default_factory=dict)  # user -> their Home tab's view id
    triggers: dict[str, str] = field(default_factory=dict)  # trigger_id -> whose it is
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- the Web API methods --------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        view = parse_json(args.get("view"))
        if not isinstance(view, dict):
            return _refused("view: must be a view object")
        if method == "views.open":
            if not args.get("trigger_id"):
                return _refused("trigger_id: required")
            user = self.triggers.get(str(args["trigger_id"]), "")
            return self._put(None, user, view)
        if method == "views.update":
            shown = self.views.get(str(args.get("view_id", "")))
            if shown is None:
                return {"ok": False, "error": "not_found"}
            if args.get("hash") and args["hash"] != shown.hash:
                return {"ok": False, "error": "hash_conflict"}
            return self._put(shown, shown.user, view)
        if method == "views.publish":
            user = str(args.get("user_id", ""))
            if not user or view.get("type") != "home":
                return _refused("user_id and a view of type home are required")
            return self._put(self.views.get(self.homes.get(user, "")), user, view)
        return _refused(f"{method}: unknown")

    def _put(self, shown: Shown | None, user: str, view: dict[str, Any]) -> dict[str, Any]:
        if (reason := _invalid(view)) is not None:
            return _refused(reason)
        if shown is None:
            shown = Shown(f"V{next(self._ids):08d}", "", user, view)
            self.views[shown.id] = shown
            if view["type"] == "home":
                self.homes[user] = shown.id
        shown.state = _kept_state(shown, view)
        shown.definition, shown.hash, shown.errors = view, self._hash(), {}
        return {"view": shown.payload()}

    def _hash(self) -> str:
        return f"1700000000.{next(self._ids):08d}"

    # --- the person in front of the views -------------------------------------------------

    def home(self, user: str) -> Shown:
        return self.views[self.homes[user]]

    def opened(self) -> list[Shown]:
        """The modals opened, oldest first."""
        return [v for v in self.views.values() if v.definition.get("type") == "modal"]

    def trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{user}.trigger"
        self.triggers[trigger] = user
        return trigger

    def press(self, view_id: str, action_id: str) -> dict[str, Any]:
        """A button in the view pressed: the block_actions payload Slack sends."""
        shown = self.views[view_id]
        block, element = _element(shown, action_id)
        assert element["type"] == "button", f"{action_id} is no button"
        action = {"type": "button", "text": element["text"], "value": element.get("value")}
        return self._actions(shown, block, element, action)

    def pick(self, view_id: str, action_id: str, value: str) -> dict[str, Any] | None:
        """An option picked: the block_actions payload, when the select dispatches one."""
        shown = self.views[view_id]
        block, element = _element(shown, action_id)
        option = next(o for o in element["options"] if o["value"] == value)
        shown.state.setdefault(block["block_id"], {})[action_id] = {
            "type": "static_select",
            "selected_option": option,
        }
        if block["type"] == "input" and not block.get("dispatch_action"):
            return None
        action = {"type": "static_select", "selected_option": option}
        return self._actions(shown, block, element, action)

    def type_in(self, view_id: str, block_id: str, text: str) -> None:
        shown = self.views[view_id]
        block = next(b for b in shown.definition["blocks"] if b.get("block_id") == block_id)
        element = block["element"]
        assert element["type"] == "plain_text_input"
        assert len(text) <= element.get("max_length", INPUT_CHARS), "too long for the input"
        shown.state.setdefault(block_id, {})[element["action_id"]] = {
            "type": "plain_text_input",
            "value": text,
        }

    def submission(self, view_id: str) -> dict[str, Any]:
        """The view_submission payload; Slack's client sends none while a required input
        is empty."""
        shown = self.views[view_id]
        assert not shown.closed, "the view is closed"
        assert "submit" in shown.definition, "the view has nothing to submit"
        for block in shown.definition["blocks"]:
            if block["type"] == "input" and not block.get("optional", False):
                value = shown.state.get(block["block_id"], {}).get(block["element"]["action_id"])
                filled = value and (value.get("value") or value.get("selected_option"))
                assert filled, f"{block['block_id']} is required"
        return {
            "type": "view_submission",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": shown.user, "team_id": "T0001"},
            "api_app_id": "A0001",
            "trigger_id": self.trigger(shown.user),
            "view": shown.payload(),
        }

    def answered(self, view_id: str, body: str) -> None:
        """The app's answer to a view_submission: close, errors, or a new view."""
        shown = self.views[view_id]
        answer = json.loads(body) if body.strip() else {}
        action = answer.get("response_action")
        if action == "errors":
            shown.errors = dict(answer["errors"])
        elif action == "update":
            assert _invalid(answer["view"]) is None, _invalid(answer["view"])
            shown.state = _kept_state(shown, answer["view"])
            shown.definition, shown.hash = answer["view"], self._hash()
        else:
            shown.closed = True

    def _actions(
        self, shown: Shown, block: dict[str, Any], element: dict[str, Any], action: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": shown.user, "team_id": "T0001"},
            "api_app_id": "A0001",
            "container": {"type": "view", "view_id": shown.id},
            "trigger_id": self.trigger(shown.user),
            "view": shown.payload(),
            "actions": [
                {
                    **action,
                    "action_id": element["action_id"],
                    "block_id": block["block_id"],
                    "action_ts": "1700000000.000100",
                }
            ],
        }


def _refused(reason: str) -> dict[str, Any]:
    return {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": [f"[ERROR] {reason}"]},
    }


def _element(shown: Shown, action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in shown.definition["blocks"]:
        elements = block.get("elements") or ([block["element"]] if "element" in block else [])
        for element in elements:
            if element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no {action_id} in view {shown.id}")


def _kept_state(shown: Shown, view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What stays typed in: same block and action ids; else the initial value, if any."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        kept = shown.state.get(block_id, {}).get(element["action_id"])
        if kept is None and element["type"] == "plain_text_input":
            kept = {"type": "plain_text_input", "value": element.get("initial_value")}
        if kept is None and element["type"] == "static_select":
            kept = {"type": "static_select", "selected_option": element.get("initial_option")}
        state[block_id] = {element["action_id"]: kept}
    return state


def _invalid(view: dict[str, Any]) -> str | None:
    """Why Slack would refuse this view, or None."""
    blocks = view.get("blocks", [])
    if view.get("type") not in ("modal", "home"):
        return "view.type: modal or home"
    if len(blocks) > MAX_BLOCKS:
        return f"view.blocks: at most {MAX_BLOCKS}"
    ids = [b["block_id"] for b in blocks if b.get("block_id")]
    if len(ids) != len(set(ids)):
        return "view.blocks: block_id must be unique"
    if view["type"] == "modal":
        for key in ("title", "submit", "close"):
            if key in view and len(view[key]["text"]) > TITLE_CHARS:
                return f"view.{key}: at most {TITLE_CHARS} characters"
        if "title" not in view:
            return "view.title: required"
        if any(b["type"] == "input" for b in blocks) and "submit" not in view:
            return "view.submit: required with input blocks"
    for block in blocks:
        if block.get("dispatch_action") and block["type"] != "input":
            return "dispatch_action: only on input blocks"
        if block["type"] == "input" and (reason := _invalid_input(block)) is not None:
            return reason
    return None


def _invalid_input(block: dict[str, Any]) -> str | None:
    if not 0 < len(block["label"]["text"]) <= LABEL_CHARS:
        return f"input.label: 1 to {LABEL_CHARS} characters"
    element = block["element"]
    if element["type"] == "static_select":
        options = element["options"]
        if not 0 < len(options) <= MAX_OPTIONS:
            return f"static_select.options: 1 to {MAX_OPTIONS}"
        if any(len(o["text"]["text"]) > OPTION_CHARS for o in options):
            return f"option.text: at most {OPTION_CHARS} characters"
    elif element["type"] == "plain_text_input":
        if element.get("max_length", 0) > INPUT_CHARS:
            return f"plain_text_input.max_length: at most {INPUT_CHARS}"
        if len(element.get("initial_value") or "") > element.get("max_length", INPUT_CHARS):
            return "plain_text_input.initial_value: longer than max_length"
    return None
