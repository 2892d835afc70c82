"""The image built from the Dockerfile and run, where Docker is at hand (skipped elsewhere)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = "python:3.11-slim"


def _docker(*args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def _why_no_docker() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command here"
    try:
        info = _docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker daemon does not answer"
    if info.returncode != 0:
        return "the Docker daemon does not answer: " + (info.stderr.strip().splitlines() or [""])[0]
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    why = _why_no_docker()
    if why is not None:
        pytest.skip(why)
    if _docker("image", "inspect", BASE).returncode != 0:
        try:
            pulled = _docker("pull", BASE, timeout=600).returncode == 0
        except subprocess.TimeoutExpired:
            pulled = False
        if not pulled:
            pytest.skip(f"the base image {BASE} cannot be had here")
    tag = f"supportbot-test:{uuid.uuid4().hex[:12]}"
    built = _docker("build", "--tag", tag, str(ROOT), timeout=1800)
    assert built.returncode == 0, built.stderr[-4000:]
    try:
        yield tag
    finally:
        _docker("image", "rm", "--force", tag)


def test_the_image_runs_as_its_own_user_with_a_health_check(image: str) -> None:
    config = json.loads(_docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"] == ["CMD", "supportbot", "check"]
    assert config["Cmd"] == ["supportbot", "run"]
    assert _docker("run", "--rm", image, "id", "-u").stdout.strip() == "10001"


def test_the_image_checks_and_runs_a_desk(image: str) -> None:
    check = _docker("run", "--rm", image, "supportbot", "check")
    assert check.returncode == 0, check.stderr
    assert "database: reachable" in check.stdout
    session = "alice> My invoice is wrong\n@bob> /ticket claim\n"
    run = _docker("run", "--rm", "--interactive", image, "supportbot", "run", stdin=session)
    assert run.returncode == 0, run.stderr
    assert "[staff #1] new ticket" in run.stdout
    assert "[reply to @bob] You claimed ticket #1." in run.stdout
