"""Several real `supportbot run` processes on one PostgreSQL database lose nothing and say
nothing twice, with one of them killed (-9) in the middle of a burst.

200 customers write one or two DMs each; agents answer some tickets once or twice in their
staff threads as the cards appear. Socket Mode: the fake Slack spreads envelopes over every
process's connection. HTTP mode: a load balancer sends each signed request to the processes
in turn, and again to the next one when a process is dead, slow or answers non-200. Once
40 % of the customer messages are acknowledged, one process is killed just as it posts; it
is started again, or not, and the rest must finish everything. Then, from what the fake
Slack carried out: every customer message once in its ticket's staff thread, in the order
sent; every agent reply once in the customer's DM, in the order written; one
acknowledgement and one card per ticket; no outbox row posted twice (see workers_audit).
Set SUPPORTBOT_TEST_WORKERS_SEED to explore other seeds.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.fake_slack import running_fake_slack
from tests.e2e.workers_driver import Mode, run_burst
from tests.support.pg import required_database

SEED = int(os.environ.get("SUPPORTBOT_TEST_WORKERS_SEED", "20250611"))
CUSTOMERS = 200


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with required_database("workers") as url:
        yield url


@pytest.mark.parametrize(
    ("mode", "workers", "restart"),
    [
        pytest.param("socket", 2, True, id="socket-2-restarted"),
        pytest.param("http", 3, False, id="http-3-not-restarted"),
    ],
)
async def test_workers_on_one_database_lose_nothing_and_double_nothing(
    pg_url: str, tmp_path: Path, mode: Mode, workers: int, restart: bool
) -> None:
    seed = SEED + workers + (0 if mode == "socket" else 10)
    async with running_fake_slack() as fake:
        outcome = await run_burst(
            fake,
            pg_url,
            tmp_path,
            mode=mode,
            workers=workers,
            customers=CUSTOMERS,
            seed=seed,
            restart=restart,
        )
    assert not outcome.problems, f"seed {seed}: {outcome.report()}"
    assert all(code == 0 for code in outcome.exit_codes), outcome.fleet.stderr()[-5000:]
    stderr = outcome.fleet.stderr()
    at = stderr.find("Traceback")
    assert at < 0, stderr[max(0, at - 1000) : at + 4000]
    # the kill did what it is for: events in flight were delivered again
    assert outcome.traffic.redeliveries > 0, outcome.headline()
