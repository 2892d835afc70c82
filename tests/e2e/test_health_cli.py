"""`supportbot run` with SUPPORTBOT_HTTP_PORT and SUPPORTBOT_LOG_FORMAT=json, as an operator
sets them for the shell adapter (no chat platform at all)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run


def test_json_logs_and_the_health_port_with_the_shell(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "run",
        stdin="alice> my order is late\n",
        SUPPORTBOT_LOG_FORMAT="json",
        SUPPORTBOT_HTTP_PORT="0",
    )
    assert result.returncode == 0, result.stderr
    assert "[staff #1] new ticket" in result.stdout
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    messages = [str(line["message"]) for line in lines]
    assert any(m.startswith("health and metrics: serving /healthz") for m in messages)
    assert any(m.startswith("started adapters: shell") for m in messages)


def test_bad_values_are_configuration_errors(tmp_path: Path) -> None:
    result = run(tmp_path, "run", SUPPORTBOT_LOG_FORMAT="xml", SUPPORTBOT_HTTP_PORT="eighty")
    assert result.returncode == 2
    assert "SUPPORTBOT_LOG_FORMAT: 'xml' is not one of text, json" in result.stderr
    assert "SUPPORTBOT_HTTP_PORT: 'eighty' is not a TCP port" in result.stderr
