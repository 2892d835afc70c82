"""A knowledge-base threshold that is no confidence is a configuration problem to
`supportbot check`, one line and exit code 2, as any other setting's is."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run


def test_check_refuses_a_threshold_that_is_no_confidence(tmp_path: Path) -> None:
    for written in ("high", "1.5"):
        bad = run(tmp_path, "check", SUPPORTBOT_KB_THRESHOLD=written)
        assert bad.returncode == 2
        problems = [line for line in bad.stderr.splitlines() if "configuration error" in line]
        line = (
            "supportbot: configuration error: SUPPORTBOT_KB_THRESHOLD: "
            f"{written!r} is not a number from 0 to 1 (like 0.62)"
        )
        assert problems == [line]
        assert "configuration: 1 problem found" in bad.stdout
    good = run(tmp_path, "check", SUPPORTBOT_KB_THRESHOLD="0.7")
    assert good.returncode == 0, good.stderr
