"""Run the real `supportbot run` as a child process that a crash test can kill -9.

    async with BotProcess(base_env({"DATABASE_URL": url, ...}), cwd=tmp_path) as bot:
        await bot.start()                # returns once stderr says "started adapters"
        ...
        await bot.kill()                 # SIGKILL: no shutdown code runs
    # leaving the block kills the process if it still runs

    code = await bot.stop()              # SIGTERM: graceful shutdown, returns the exit code

stdout and stderr are drained into lists by background tasks from the start, so a chatty
child never blocks on a full pipe. The child runs in its own session (so a Ctrl-C at the
terminal reaches pytest, not the bot, and kill() takes the whole process group); on Linux
it also gets SIGKILL from the kernel if the test process dies outright. Every child not yet
waited for is in `_LIVE`, which an atexit hook kills as a last resort.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["SUPPORTBOT", "BotProcess", "base_env", "slack_env"]

SUPPORTBOT = str(Path(sys.executable).with_name("supportbot"))

_SCRUBBED_PREFIXES = ("SLACK_", "DISCORD_", "SUPPORTBOT_")
_SCRUBBED_NAMES = {"DATABASE_URL"}


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ without any Slack, Discord, supportbot or database settings, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SCRUBBED_PREFIXES) and key not in _SCRUBBED_NAMES
    }
    env.update(extra or {})
    return env


def slack_env(api_url: str, database_url: str, staff_channel: str, **extra: str) -> dict[str, str]:
    """`base_env` for a `supportbot run` on Slack (Socket Mode) against a fake at `api_url`."""
    return base_env(
        {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_APP_TOKEN": "xapp-test-token",
            "SLACK_STAFF_CHANNEL": staff_channel,
            "SLACK_API_URL": api_url,
            **extra,
        }
    )


# Every child started and not yet waited for. Each also leads its own process group.
_LIVE: set[int] = set()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # the child leads its own group (start_new_session)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@atexit.register
def _kill_leftovers() -> None:
    for pid in list(_LIVE):
        # Only a pid that is still our child (running, or dead and unreaped) is safe to
        # signal: once asyncio's child watcher has reaped it, the number may be reused.
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if reaped == 0:
            _kill_group(pid)
    _LIVE.clear()


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when the test process dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took hold
            os._exit(1)

    return preexec


class BotProcess:
    """One run of a child process; see the module docstring."""

    def __init__(
        self,
        env: dict[str, str],
        cwd: Path,
        argv: Sequence[str] | None = None,
    ) -> None:
        self.env = env
        self.cwd = cwd
        self.argv = list(argv) if argv is not None else [SUPPORTBOT, "run"]
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._drains: list[asyncio.Task[None]] = []
        self._changed: asyncio.Condition | None = None
        self._stderr_closed = False

    # -- state ---------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("not started")
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def stderr_text(self) -> str:
        return "".join(self.stderr_lines)

    def stdout_text(self) -> str:
        return "".join(self.stdout_lines)

    # -- life cycle ----------------------------------------------------------------------

    async def start(
        self,
        ready_line: str = "started adapters",
        timeout: float = 30,  # noqa: ASYNC109 - a bound on start-up, as callers expect
    ) -> str:
        """Spawn the child; return the first stderr line containing `ready_line`.

        Raises AssertionError (with the child's stderr) if it exits first, TimeoutError if
        the line does not come in time; either way the child is killed.
        """
        if self._proc is not None:
            raise RuntimeError("a BotProcess runs once; make a new one to restart")
        self._changed = asyncio.Condition()
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        _LIVE.add(self._proc.pid)
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._drains = [
            asyncio.create_task(self._drain(self._proc.stderr, self.stderr_lines, stderr=True)),
            asyncio.create_task(self._drain(self._proc.stdout, self.stdout_lines)),
        ]
        try:
            return await self.wait_for_line(ready_line, timeout=timeout)
        except BaseException:
            await self.kill()
            raise

    async def _drain(
        self, stream: asyncio.StreamReader, into: list[str], *, stderr: bool = False
    ) -> None:
        assert self._changed is not None
        try:
            while True:
                try:
                    line = await stream.readline()
                except ValueError:  # a line over the 1 MiB limit was dropped; say so
                    line = b"[BotProcess: over-long line dropped]\n"
                if not line:
                    break
                async with self._changed:
                    into.append(line.decode(errors="replace"))
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self._stderr_closed = self._stderr_closed or stderr
                self._changed.notify_all()

    async def wait_for_line(
        self,
        text: str,
        *,
        timeout: float = 30,  # noqa: ASYNC109 - the wait's own bound, with a default
        start: int = 0,
    ) -> str:
        """The first stderr line (from index `start`) containing `text`, waiting for it."""
        assert self._changed is not None, "not started"
        seen = start

        def found() -> str | None:
            nonlocal seen
            for line in self.stderr_lines[seen:]:
                if text in line:
                    return line
            seen = len(self.stderr_lines)
            return None

        async with asyncio.timeout(timeout), self._changed:
            while (line := found()) is None:
                if self._stderr_closed:
                    raise AssertionError(
                        f"process exited (code {self.returncode}) before printing {text!r}; "
                        f"stderr:\n{self.stderr_text()}"
                    )
                await self._changed.wait()
        return line

    async def kill(self) -> int | None:
        """SIGKILL the child (and its process group) and wait for it; its exit code."""
        proc = self._proc
        if proc is None:
            return None
        try:
            if proc.returncode is None:
                _kill_group(proc.pid)
            await proc.wait()
            _LIVE.discard(proc.pid)
        finally:
            await self._finish_drains()
        return proc.returncode

    async def stop(self, timeout: float = 30) -> int:  # noqa: ASYNC109 - then it kills
        """SIGTERM the child and wait for it to exit; its exit code.

        If it is still running after `timeout`, it is killed and TimeoutError raised.
        """
        proc = self._proc
        if proc is None:
            raise RuntimeError("not started")
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                await self.kill()
                raise TimeoutError(
                    f"still running {timeout}s after SIGTERM; stderr:\n{self.stderr_text()}"
                ) from None
        _LIVE.discard(proc.pid)
        await self._finish_drains()
        assert proc.returncode is not None
        return proc.returncode

    async def wait(self, timeout: float = 30) -> int:  # noqa: ASYNC109 - a default bound
        """Wait for the child to exit by itself; its exit code."""
        if self._proc is None:
            raise RuntimeError("not started")
        code = await asyncio.wait_for(self._proc.wait(), timeout)
        _LIVE.discard(self._proc.pid)
        await self._finish_drains()
        return code

    async def _finish_drains(self) -> None:
        """After exit the pipes reach EOF; collect the drains, cancelling any left hanging
        (a grandchild holding the pipe open)."""
        if not self._drains:
            return
        _, hung = await asyncio.wait(self._drains, timeout=5)
        for task in hung:
            task.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)

    async def __aenter__(self) -> BotProcess:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.kill()
