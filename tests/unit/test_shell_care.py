"""The shell shows the leads' side and the care buttons, so one person can play every role."""

from __future__ import annotations

import io
from datetime import timedelta

from adapters.shell import ShellAdapter
from bot.clock import FrozenClock
from bot.delivery.sender import OutboxSender
from bot.desk import Desk
from bot.rendering import Renderer
from bot.scheduling.runner import ReminderRunner
from bot.settings import DeskSettings
from tests.unit.fakes import FakeUnitOfWorkFactory


async def test_a_follow_up_and_a_breach_as_the_shell_shows_them() -> None:
    out, clock, factory = io.StringIO(), FrozenClock(), FakeUnitOfWorkFactory()
    shell = ShellAdapter(out)
    renderer = Renderer()
    desk = Desk(factory, renderer, DeskSettings(lead_platforms=("shell",)), clock)
    sender = OutboxSender(factory, {"shell": shell}, clock, renderer)
    for line in ("alice> The export is slow", "@bob> Looking into it", "@bob> /ticket close"):
        await shell.handle_line(desk, line)
    await shell.handle_line(desk, "carol> Where did my invoice go?")
    await sender.drain()
    clock.advance(timedelta(days=3))
    await ReminderRunner(desk).fire_due()
    await sender.drain()
    text = out.getvalue()
    assert '[leads] Response target missed: #2 "Where did my invoice go?"' in text
    assert "[staff #1] @bob Follow-up due for #1" in text
    assert "[Send check-in] !followup:checkin:" in text
    press = text.split("[Send check-in] !")[1].split()[0]
    await shell.handle_line(desk, f"@bob #1> !{press}")
    await sender.drain()
    assert "[to alice]" in out.getvalue().split(press)[-1]
    assert "[All good] !checkin:good:1" in out.getvalue()


async def test_a_line_the_database_cannot_take_is_reported_not_lost_silently() -> None:
    out, factory = io.StringIO(), FakeUnitOfWorkFactory()
    shell = ShellAdapter(out)
    desk = Desk(factory, Renderer(), DeskSettings(), FrozenClock())
    factory.store.outage = True
    assert await shell.handle_line(desk, "alice> The export is slow")  # the shell goes on
    assert "that line was not saved. Send it again when the database is back." in out.getvalue()
    assert "Traceback" not in out.getvalue()
    factory.store.outage = False
    await shell.handle_line(desk, "alice> The export is slow")
    assert len(factory.store.tickets) == 1


async def test_the_shell_assigns_only_to_its_staff() -> None:
    out, factory = io.StringIO(), FakeUnitOfWorkFactory()
    shell = ShellAdapter(out, staff=("bob", "carol"))
    desk = Desk(factory, Renderer(), DeskSettings(), FrozenClock())
    await shell.handle_line(desk, "alice> The export is slow")
    await shell.handle_line(desk, "@bob #1> /ticket assign @mallory")
    assert "mallory is not on the support staff, so ticket #1 stays as it is." in out.getvalue()
    await shell.handle_line(desk, "@bob #1> /ticket assign @carol")
    assert "Ticket #1 is now assigned to carol." in out.getvalue()
