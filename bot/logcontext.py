"""What a log line is about (a ticket, a platform), for logs that a shipper indexes: set where
work on one ticket begins, read by the log formatter (bot.app.logs) when a line is written."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol


class About(Protocol):
    """An outbox message, say: only read when a line is logged."""

    @property
    def ticket_number(self) -> int | None: ...
    @property
    def platform(self) -> str: ...


ABOUT: ContextVar[About | None] = ContextVar("supportbot_log_about", default=None)


@dataclass(frozen=True)
class LogSubject:
    """A command's subject: its ticket where it names one (a new message's is not known
    yet), and the platform it came from."""

    ticket_number: int | None
    platform: str


def about(subject: About) -> None:
    """The current task's lines are about `subject` from here on (a task's context is its
    own copy: nothing leaks to the task that created it)."""
    ABOUT.set(subject)
