"""The shell's line syntax.

alice> My invoice is wrong             a customer named alice writes (opens a ticket)
alice(ja)> 請求書が間違っています         ... with a locale
@bob> Hi Alice, looking at it          agent bob replies in the current ticket's thread
@bob #3> // checked the logs           ... in ticket #3's thread; // makes it internal
@bob> /ticket claim                    a command, in the current ticket's thread
alice> !csat:5:3                       press a button shown in the transcript
# a comment; :help; :quit
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CUSTOMER = re.compile(r"^(?P<name>[\w.-]+)(?:\((?P<locale>[A-Za-z_-]+)\))?>(?P<text>.*)$")
_AGENT = re.compile(r"^@(?P<name>[\w.-]+)(?:\s+#(?P<number>\d+))?\s*>(?P<text>.*)$")
MENTION = re.compile(r"@([\w.-]+)")


@dataclass(frozen=True)
class Line:
    kind: str  # customer | agent | meta | skip | bad
    name: str = ""
    text: str = ""
    locale: str = ""
    number: int | None = None


def parse_line(raw: str) -> Line:
    line = raw.rstrip("\r\n")
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return Line("skip")
    if stripped.startswith(":"):
        return Line("meta", text=stripped[1:].strip().lower())
    match = _AGENT.match(stripped)
    if match:
        number = match["number"]
        return Line(
            "agent", match["name"], _text(match["text"]), number=int(number) if number else None
        )
    match = _CUSTOMER.match(stripped)
    if match:
        return Line("customer", match["name"], _text(match["text"]), match["locale"] or "")
    return Line("bad", text=stripped)


def _text(text: str) -> str:
    # one space after '>' is syntax; everything else is the message, as typed
    return text.removeprefix(" ")
