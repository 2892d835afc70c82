"""Where the shell's lines come from, away from a real terminal: piped lines as they come, a
line a terminal without readline may have cut refused with a notice, and a read nobody
answers holding up no exit."""

from __future__ import annotations

import asyncio
import io
import os
import threading

import pytest

from adapters.shell.terminal import CUT_AT, Lines


async def test_piped_lines_come_as_they_are_without_a_prompt() -> None:
    out = io.StringIO()
    lines = Lines(io.StringIO("alice> hi\n" + "y" * 50_000 + "\n"), out, interactive=False)
    assert await lines.read("> ") == "alice> hi\n"
    assert await lines.read("> ") == "y" * 50_000 + "\n"  # a pipe cuts nothing
    assert await lines.read("> ") == ""
    assert out.getvalue() == ""


async def test_a_line_the_terminal_may_have_cut_is_refused_with_a_notice() -> None:
    out = io.StringIO()
    typed = io.StringIO("alice> " + "x" * 4088 + "\nalice> short\n")
    lines = Lines(typed, out, interactive=True)
    lines.editing = False  # a Python without readline: the terminal's own line editing
    assert await lines.read("> ") == "alice> short\n"
    assert out.getvalue().startswith("> [shell] That line reached the terminal's limit of about")
    assert "may have been cut, so it was not sent" in out.getvalue()
    assert out.getvalue().endswith("> ")
    assert CUT_AT <= 4095  # below what Linux keeps of a line


def test_a_read_nobody_answers_holds_up_no_exit() -> None:
    """Ctrl-C while the shell waits for a line: the event loop closes at once, although the
    thread that reads is still waiting (the loop's own worker threads would be waited for)."""
    read_end, write_end = os.pipe()
    stream = os.fdopen(read_end)

    async def wait_then_stop() -> None:
        reading = asyncio.create_task(Lines(stream, io.StringIO(), interactive=False).read(""))
        await asyncio.sleep(0)  # the reading thread starts and waits
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading

    try:
        asyncio.run(wait_then_stop())  # returns with the line still unread
    finally:
        os.write(write_end, b"late\n")  # the waiting thread ends; nobody takes its line
        for thread in threading.enumerate():
            if thread.name == "shell input":
                thread.join(timeout=10)
        stream.close()
        os.close(write_end)
