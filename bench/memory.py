"""Idle resident memory of `supportbot run` with the shell adapter (target: at most 120 MB)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

TARGET_MB = 120.0


def idle_rss_mb(settle_seconds: float = 2.0) -> float:
    supportbot = str(Path(sys.executable).with_name("supportbot"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
        env["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'desk.db'}"
        proc = subprocess.Popen(
            [supportbot, "run"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
            env=env,
        )
        try:
            assert proc.stderr is not None
            for line in proc.stderr:  # wait until it says it is up
                if "started adapters" in line:
                    break
            time.sleep(settle_seconds)  # a benchmark, not a test: real idle time is the point
            rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)
    return float(rss)


def main() -> bool:
    # floor: a bare Python interpreter, measured the same way
    floor = psutil.Process(
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"]).pid
    )
    time.sleep(1)
    floor_mb = floor.memory_info().rss / 2**20
    floor.wait()
    rss = idle_rss_mb()
    ok = rss <= TARGET_MB
    print(
        f"memory: supportbot run (shell, idle) {rss:6.1f} MB  (bare python: {floor_mb:5.1f} MB)  "
        f"ratio {rss / floor_mb:.1f}  [target <= {TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}]"
    )
    return ok


if __name__ == "__main__":
    main()
