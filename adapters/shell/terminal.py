"""Where the shell's lines come from. At a terminal: line editing and history through the
standard library's readline (arrow keys, Home/End, Ctrl-R), a pasted line kept whole however
long it is, and Ctrl-C leaving at once. From a pipe or a file: the lines as they come."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, TextIO

# A terminal's own line editing (without readline) keeps about 4 KiB of a line (Linux: 4095
# bytes) and drops the rest without a word: a line this long may have been cut.
CUT_AT = 4000


class Lines:
    """`await read(prompt)` gives the next line with its newline, "" at the end of input."""

    def __init__(self, stream: TextIO, out: TextIO, *, interactive: bool) -> None:
        self.stream = stream
        self.out = out
        self.interactive = interactive
        self.editing = interactive and _readline_ready()
        self._terminal: list[Any] | None = None
        self._waiting = False
        if interactive:
            with contextlib.suppress(ImportError, OSError):
                import termios

                self._terminal = termios.tcgetattr(stream.fileno())

    async def read(self, prompt: str) -> str:
        while True:
            line = await self._next(prompt)
            if self.editing or not self.interactive or len(line.encode()) < CUT_AT:
                return line
            self.out.write(
                f"[shell] That line reached the terminal's limit of about {CUT_AT:,} "
                "characters and may have been cut, so it was not sent. Send long text in "
                "parts, or pipe the lines in from a file.\n"
            )

    async def _next(self, prompt: str) -> str:
        """The line from a thread of its own: a thread that waits for input never holds up the
        process's exit (the event loop's own threads are waited for), so Ctrl-C or a stopped
        desk leaves at once."""
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str] = loop.create_future()

        def read() -> None:
            try:
                outcome: Any = self._read(prompt)
            except BaseException as error:  # handed to the awaiting task, raised there
                outcome = error
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                loop.call_soon_threadsafe(_settle, line, outcome)

        self._waiting = True
        threading.Thread(target=read, name="shell input", daemon=True).start()
        try:
            return await line
        finally:
            self._waiting = False

    def _read(self, prompt: str) -> str:
        if self.editing:
            try:
                return input(prompt) + "\n"  # readline writes the prompt and edits the line
            except EOFError:
                self.out.write("\n")
                return ""
        if self.interactive:
            self.out.write(prompt)
            self.out.flush()
        return self.stream.readline()

    def close(self) -> None:
        """Give the terminal back as it was: a line being edited when Ctrl-C came leaves it
        without echo, in readline's hands."""
        if self._terminal is not None:
            import termios

            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._terminal)
        if self._waiting and self.interactive:
            self.out.write("\n")  # the terminal's prompt starts on a line of its own
            self.out.flush()


def _settle(line: asyncio.Future[str], outcome: Any) -> None:
    if line.done():  # cancelled: the desk stopped waiting
        return
    if isinstance(outcome, BaseException):
        line.set_exception(outcome)
    else:
        line.set_result(outcome)


def _readline_ready() -> bool:
    try:
        import readline
    except ImportError:  # a Python built without it: the terminal's own line editing
        return False
    if "libedit" not in (readline.__doc__ or ""):
        # a pasted block arrives as the lines it holds, each one sent as typed (bracketed
        # paste would make it one line, with newlines inside, that the syntax cannot read)
        readline.parse_and_bind("set enable-bracketed-paste off")
    return True
