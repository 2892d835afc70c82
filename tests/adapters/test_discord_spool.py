"""The spool keeps what a replay cannot handle, rather than losing it or holding up the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.discord.intake import DiscordIntake
from adapters.discord.spool import Arrival, Spool
from bot.desk import Outcome
from bot.model import Person


def _arrival(i: int) -> Arrival:
    alice = Person("discord", "7", "alice")
    return Arrival("customer", str(100 + i), "10", "10", "", alice, False, f"message {i}")


async def test_a_spooled_message_that_breaks_is_set_aside_and_the_rest_replayed(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "discord-spool.jsonl")
    arrivals = [_arrival(i) for i in range(3)]
    for arrival in arrivals:
        await spool.append(arrival)
    handled: list[str] = []

    class BrokenOnce:
        async def handle(self, command: Any, caller: Any) -> Outcome:
            if command.text == "message 1":
                raise RuntimeError("a bug in the adapter's path")
            handled.append(command.text)
            return Outcome("")

    intake = DiscordIntake(
        BrokenOnce(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        spool,
        staff_channel=1,
        staff_role=2,
        support_channels=(),
    )
    intake.start_replay()
    assert intake._replaying is not None
    await intake._replaying
    assert handled == ["message 0", "message 2"]  # in order, the rest not held up
    assert not spool.path.exists()
    (kept,) = spool.aside.read_text("utf-8").splitlines()
    assert Arrival.from_json(kept) == arrivals[1]  # for an operator, not lost
    reloaded = Spool(spool.path)
    assert reloaded.load() == 0
