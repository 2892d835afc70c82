"""A ticket's audit trail as sentences in the staff's language, for `/ticket show`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.events import Closed, FirstResponse
from bot.model import TicketEvent
from bot.rendering import Renderer, local_time


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str


def history(
    renderer: Renderer, locale: str, tz: str, events: list[TicketEvent]
) -> list[HistoryLine]:
    return [HistoryLine(e.at, sentence(renderer, locale, tz, e)) for e in events]


def sentence(renderer: Renderer, locale: str, tz: str, event: TicketEvent) -> str:
    key = f"event_{event.kind.value}"
    if key not in renderer.keys(locale):  # a kind a newer version wrote
        return renderer.text(locale, "event_unknown", actor=event.actor.name, kind=event.kind)
    payload = event.payload
    params: dict[str, Any] = dataclasses.asdict(payload) if payload else {}
    if isinstance(payload, FirstResponse):
        params["after"] = renderer.span(locale, timedelta(seconds=payload.seconds))
    elif isinstance(payload, Closed):
        params["after"] = renderer.span(locale, timedelta(seconds=payload.resolution_seconds))
    if due_at := params.get("due_at"):
        params["due"] = _when(due_at, tz)
    return renderer.text(locale, key, actor=event.actor.name, **params)


def _when(iso: str, tz: str) -> str:
    try:
        return local_time(datetime.fromisoformat(iso), tz)
    except ValueError:  # written by hand or by another version: shown as it is
        return iso
