"""How supportbot is installed and deployed: the lock files, the image, compose, systemd and
`./dev`, checked as files (tests/e2e/test_container.py builds and runs the image)."""

from __future__ import annotations

import configparser
import fnmatch
import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("dev",)}


def _pins(lock: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / lock).read_text("utf-8").splitlines():
        if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _declared(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_the_lock_pins_every_dependency_that_pyproject_names(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = _pins(lock)
    for requirement in _declared(extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} pins no {requirement.name}: run ./dev lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {requirement.name}=={pins[name]}, outside {requirement.specifier}: "
            "run ./dev lock"
        )


def test_the_development_lock_keeps_the_runtime_pins() -> None:
    runtime, development = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: development.get(name) for name in runtime} == runtime
    assert "pytest" in development
    assert "pytest" not in runtime  # the image carries no test tools


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_carries_its_hashes_and_no_index_is_named(lock: str) -> None:
    text = (ROOT / lock).read_text("utf-8")
    entries = [e for e in re.split(r"\n(?=[A-Za-z0-9])", text) if "==" in e.split("\n")[0]]
    assert len(entries) == len(_pins(lock))
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.split()[0]
    # where packages come from is each installer's own setting, not the project's
    assert not re.search(r"--(extra-)?index-url|--find-links|--trusted-host|://", text)


def test_the_license_is_the_one_pyproject_names() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["license"] == "MIT"
    license_text = (ROOT / "LICENSE").read_text("utf-8")
    assert license_text.startswith("MIT License\n")
    assert "the supportbot authors" in license_text


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments), continuation lines joined, comments left out."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", re.sub(r"(?m)^\s*#.*\n", "", dockerfile))
    return [
        (op.upper(), args.strip())
        for op, _, args in (line.strip().partition(" ") for line in text.splitlines())
        if op
    ]


def test_the_image_installs_the_lock_and_runs_as_a_user_with_a_health_check() -> None:
    steps = _instructions((ROOT / "Dockerfile").read_text("utf-8"))
    bases = [args.split()[0] for op, args in steps if op == "FROM"]
    assert bases
    assert set(bases) == {"python:3.11-slim"}
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "--require-hashes -r /tmp/requirements.lock" in runs
    assert "--no-deps" in runs
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [args for op, args in final if op == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    health = [args for op, args in final if op == "HEALTHCHECK"]
    assert len(health) == 1
    assert "CMD" in health[0].split()
    assert json.loads(next(args for op, args in final if op == "CMD")) == ["supportbot", "run"]


def test_the_build_context_holds_what_the_image_copies_and_no_secrets() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the context is an allow-list"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    for secret in (".env", ".venv", "supportbot.db", ".git", "discord-spool.jsonl"):
        assert not any(fnmatch.fnmatch(secret, pattern) for pattern in allowed), secret
    for op, args in _instructions((ROOT / "Dockerfile").read_text("utf-8")):
        if op == "COPY" and not args.startswith("--from"):
            *sources, _ = shlex.split(args)
            for source in sources:
                assert any(fnmatch.fnmatch(source, p) for p in allowed), f"{source} is ignored"
                assert (ROOT / source).exists(), source


_KEY = re.compile(r"[A-Za-z0-9_.-]+:(\s|$)")


def _scalar(text: str) -> Any:
    if text[0] in '[{"':
        return json.loads(text)
    if text[0] == "'":
        return text[1:-1]
    if text.isdigit():
        return int(text)
    return {"true": True, "false": False, "null": None}.get(text, text)


def _block(rows: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    """The mapping or list whose rows start at `i`, `indent` deep; and the row after it."""
    if rows[i][1].startswith("- "):
        items: list[Any] = []
        while i < len(rows) and rows[i][0] == indent and rows[i][1].startswith("- "):
            rest = rows[i][1][2:]
            if _KEY.match(rest):  # an item that is a mapping: its first key, then the others
                rows[i] = (indent + 2, rest)
                item, i = _block(rows, i, indent + 2)
            else:
                item, i = _scalar(rest), i + 1
            items.append(item)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(rows) and rows[i][0] == indent and _KEY.match(rows[i][1]):
        key, _, rest = rows[i][1].partition(":")
        i += 1
        if rest.strip():
            mapping[key] = _scalar(rest.strip())
        elif i < len(rows) and rows[i][0] > indent:
            mapping[key], i = _block(rows, i, rows[i][0])
        else:
            mapping[key] = None
    return mapping, i


def parse_block_yaml(text: str) -> Any:
    """YAML's block style as compose.yaml uses it (mappings, lists, plain, quoted and JSON
    flow values), for where PyYAML is not installed. Raises ValueError on anything else."""
    rows = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line:
            rows.append((len(line) - len(line.lstrip()), line.strip()))
    document, end = _block(rows, 0, 0)
    if end != len(rows):
        raise ValueError(f"cannot read line {rows[end][1]!r}")
    return document


def _compose() -> Any:
    text = (ROOT / "compose.yaml").read_text("utf-8")
    document = parse_block_yaml(text)
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # the checks below run on the block parser's reading alone
        return document
    assert yaml.safe_load(text) == document
    return document


def test_compose_runs_supportbot_once_postgres_is_healthy() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"supportbot", "postgres"} <= set(services)
    postgres, bot = services["postgres"], services["supportbot"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert bot["build"] == "."
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in bot["environment"]["DATABASE_URL"]
    # the image's health check asks /healthz on this port, not every platform each minute
    assert bot["environment"]["SUPPORTBOT_HTTP_PORT"] == "${SUPPORTBOT_HTTP_PORT:-3000}"
    assert "127.0.0.1:3000:3000" in bot["ports"]
    # the data lives in named volumes, declared at the top
    for service, path in ((postgres, "/var/lib/postgresql/data"), (bot, "/var/lib/supportbot")):
        volume = next(v.split(":")[0] for v in service["volumes"] if v.endswith(":" + path))
        assert volume in compose["volumes"]


def test_the_block_parser_refuses_what_it_cannot_read() -> None:
    assert parse_block_yaml("a:\n  b: 1\n  c:\n    - x\n    - k: v\n      l: w\n") == {
        "a": {"b": 1, "c": ["x", {"k": "v", "l": "w"}]}
    }
    with pytest.raises(ValueError, match="cannot read"):
        parse_block_yaml("a: 1\n  b: 2\n")


def test_the_systemd_unit_is_hardened_and_restarts_on_failure() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment, method-assign]
    unit.read_string((ROOT / "deploy" / "supportbot.service").read_text("utf-8"))
    service = unit["Service"]
    assert service["ExecStart"].endswith("/supportbot run")
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["Restart"] == "on-failure"
    assert service.get("User") or service.get("DynamicUser") == "yes"
    assert service["User"] != "root"
    for setting, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[setting] == value, setting
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("ask", ["help", "--help"])
def test_dev_help_lists_its_commands(ask: str) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "dev"), ask], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ./dev")
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"run", "test", "bench", "lock", "--version"} <= listed
    assert "anything else    is a supportbot command" in result.stdout
