"""`supportbot run` at a terminal (a pseudo-terminal here): lines are edited with the arrow
keys and recalled from history, a long pasted line arrives whole, and Ctrl-C leaves at once
with the terminal given back as it was."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.bot_process import SUPPORTBOT, base_env

pty = pytest.importorskip("pty")
termios = pytest.importorskip("termios")
pytest.importorskip("readline")

UP, LEFT = b"\x1b[A", b"\x1b[D"


class Terminal:
    """The terminal's side of the child's pseudo-terminal: what it shows, and keys typed."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.shown = bytearray()
        self._changed = threading.Condition()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the child is gone (EIO)
                data = b""
            with self._changed:
                self.shown.extend(data)
                self._changed.notify_all()
            if not data:
                return

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_for(self, text: bytes, count: int = 1) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.shown.count(text) >= count, timeout=30):
                raise AssertionError(f"{text!r} never shown; the end: {bytes(self.shown[-300:])!r}")

    def modes(self) -> list[int]:
        return list(termios.tcgetattr(self.master)[3:4])


@contextmanager
def shell_at_a_terminal(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Terminal]]:
    import fcntl
    import struct

    master, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

    def own_terminal() -> None:  # Ctrl-C typed there reaches the child, as at a real terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = base_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}", "TERM": "xterm"})
    proc = subprocess.Popen(
        [SUPPORTBOT, "run"],
        stdin=child,
        stdout=child,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        preexec_fn=own_terminal,
    )
    os.close(child)
    try:
        terminal = Terminal(master)
        # the prompt after the help (whose examples hold "> " too): readline reads from here
        terminal.wait_for(b"leaves too)\r\n> ")
        yield proc, terminal
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()
        os.close(master)


def bodies(tmp_path: Path) -> list[str]:
    db = sqlite3.connect(tmp_path / "desk.db")
    try:
        return [row[0] for row in db.execute("SELECT body FROM ticket_messages ORDER BY id")]
    finally:
        db.close()


def test_lines_are_edited_recalled_and_kept_whole(tmp_path: Path) -> None:
    pasted = " ".join(f"{n:05d}" for n in range(1500))  # 8,999 characters, numbered
    with shell_at_a_terminal(tmp_path) as (proc, terminal):
        terminal.type(f"alice> {pasted}\r".encode())
        terminal.wait_for(b"(#1) > ")
        terminal.type(b"alice> helo" + LEFT + b"l\r")  # the arrow moves; it is not typed
        terminal.wait_for(b"alice: hello")
        terminal.type(UP + b"\r")  # the line before, again
        terminal.wait_for(b"alice: hello", count=2)
        terminal.type(b":quit\r")
        assert proc.wait(timeout=30) == 0
    assert bodies(tmp_path) == [pasted, "hello", "hello"]


def test_ctrl_c_leaves_at_once_and_gives_the_terminal_back(tmp_path: Path) -> None:
    with shell_at_a_terminal(tmp_path) as (proc, terminal):
        terminal.type(b"alice> hello\r")
        terminal.wait_for(b"(#1) > ")
        terminal.type(b"alice> half a lin")  # being edited when Ctrl-C comes
        terminal.wait_for(b"half a lin")
        terminal.type(b"\x03")
        assert proc.wait(timeout=30) == 130  # no Enter needed
        [local_modes] = terminal.modes()
        assert local_modes & termios.ECHO
        assert local_modes & termios.ICANON
        assert proc.stderr is not None
        assert b"Traceback" not in proc.stderr.read()
    assert bodies(tmp_path) == ["hello"]
