"""Logging for operators: readable lines by default, or SUPPORTBOT_LOG_FORMAT=json for log
shippers (one object per line: time, level, logger, message, and the ticket and platform a
line is about where known). Either way, secrets never reach the log: the configured tokens,
signing secret and database password are masked wherever they would appear."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.engine import make_url

from bot.config import ConfigError
from bot.logcontext import ABOUT

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_BOT_TOKEN",
    "PGPASSWORD",
)
MASK = "[secret]"
# tokens by their shape, for those the configuration does not hold (a user token in an error)
_TOKEN_SHAPES = re.compile(r"\bx(?:ox[abpre]|app)-[0-9A-Za-z-]{6,}")


def log_format(env: Mapping[str, str]) -> str:
    text = env.get("SUPPORTBOT_LOG_FORMAT", "").strip().lower() or "text"
    if text not in FORMATS:
        raise ConfigError("SUPPORTBOT_LOG_FORMAT", f"{text!r} is not one of {', '.join(FORMATS)}")
    return text


def secrets_in(env: Mapping[str, str]) -> list[str]:
    found = [env.get(name, "").strip() for name in SECRET_VARIABLES]
    try:
        password = make_url(env.get("DATABASE_URL", "").strip() or "sqlite://").password
    except Exception:  # a URL the check refuses anyway; nothing to mask in it
        password = None
    if password:
        found.append(str(password))
    return [s for s in found if len(s) >= 4]  # a short value would mask ordinary words


class Masking(logging.Formatter):
    """Masks secrets in whatever a formatter writes, traceback included."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _TOKEN_SHAPES.sub(MASK, text)

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(super().format(record))


class JsonLines(Masking):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.mask(record.getMessage()),
        }
        subject = ABOUT.get()
        ticket = getattr(record, "ticket", None) or (subject and subject.ticket_number)
        platform = getattr(record, "platform", None) or (subject and subject.platform)
        if ticket:
            line["ticket"] = ticket
        if platform:
            line["platform"] = platform
        if record.exc_info:
            line["traceback"] = self.mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(
    level: str, fmt: str, env: Mapping[str, str], stream: TextIO | None = None
) -> logging.Handler:
    """The root logger writes to `stream` (standard error) in `fmt`; returns its handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    secrets = secrets_in(env)
    handler.setFormatter(JsonLines(secrets) if fmt == "json" else Masking(secrets, TEXT_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
