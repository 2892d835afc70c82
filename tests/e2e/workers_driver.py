"""Several real `supportbot run` processes on one PostgreSQL database, one fake Slack, a burst
of customers and agents, and one process killed (-9) midway.

    async with running_fake_slack() as fake:
        outcome = await run_burst(fake, database_url, tmp_path, mode="socket", workers=2)
    assert not outcome.problems, outcome.report()

`Fleet` holds the processes: worker i has its own bot token (xoxb-worker-i), so the fake
Slack tells who posted what, and its own working directory. In Socket Mode each opens its
connection to the fake, which spreads envelopes over all of them; in HTTP mode each listens
on a port of its own (SUPPORTBOT_HTTP_PORT=0) behind the test's `LoadBalancer`. The first
worker starts alone (it migrates the fresh database), the others together.

`run_burst`: start the fleet and the traffic (workers_traffic); once `kill_after` of the
customer messages and a few agent replies are acknowledged, kill -9 one worker just as it
posts something; optionally start it again; wait until every event is acknowledged and no
outbox row is pending any more (then everything the desk will say was said); stop the rest
(SIGTERM, which lets a send under way finish); audit what the fake Slack carried out
(workers_audit).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiohttp
import asyncpg

from tests.adapters.fake_slack import FakeSlack
from tests.adapters.slack_harness import SECRET
from tests.e2e.crash_driver import STAFF_CHANNEL
from tests.e2e.workers_audit import PostLog, Problem, audit, summary
from tests.e2e.workers_traffic import AGENTS, LoadBalancer, Plan, SocketModeSlack, Traffic
from tests.support.bot_process import BotProcess, base_env

__all__ = ["Fleet", "Outcome", "run_burst"]

Mode = Literal["socket", "http"]
_PORT = re.compile(r"serving /slack/events on port (\d+)")


class Fleet:
    """`count` workers: slots, each with its current process (and the ones before it)."""

    def __init__(self, fake: FakeSlack, url: str, cwd: Path, mode: Mode, count: int) -> None:
        self.fake = fake
        self.mode = mode
        self.count = count
        self.envs = [self._env(url, i) for i in range(count)]
        self.dirs = [cwd / f"worker{i}" for i in range(count)]
        for folder in self.dirs:
            folder.mkdir(parents=True, exist_ok=True)
        self.runs: list[list[BotProcess]] = [[] for _ in range(count)]
        self.ports: list[int | None] = [None] * count

    def _env(self, url: str, i: int) -> dict[str, str]:
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": f"xoxb-worker-{i}",
            "SLACK_STAFF_CHANNEL": STAFF_CHANNEL,
            "SLACK_API_URL": self.fake.base_url + "api/",
            "SLACK_RATE_SCALE": "100",  # the fake has no rate limits
        }
        if self.mode == "socket":
            env["SLACK_APP_TOKEN"] = f"xapp-worker-{i}"
        else:
            env |= {"SLACK_SIGNING_SECRET": SECRET, "SUPPORTBOT_HTTP_PORT": "0"}
        return base_env(env)

    @property
    def names(self) -> dict[str, str]:
        """bot token -> worker name, for PostLog."""
        return {env["SLACK_BOT_TOKEN"]: f"w{i}" for i, env in enumerate(self.envs)}

    def current(self, i: int) -> BotProcess:
        return self.runs[i][-1]

    def urls(self) -> list[str | None]:
        return [f"http://127.0.0.1:{p}/slack/events" if p else None for p in self.ports]

    def live(self) -> int:
        return sum(1 for runs in self.runs if runs and runs[-1].running)

    async def start(self, i: int) -> None:
        bot = BotProcess(self.envs[i], self.dirs[i])
        self.runs[i].append(bot)
        await bot.start(timeout=45)
        if self.mode == "http":
            found = _PORT.search(await bot.wait_for_line("serving /slack/events", timeout=5))
            assert found, bot.stderr_text()
            self.ports[i] = int(found.group(1))

    async def start_all(self) -> None:
        await self.start(0)  # it migrates the fresh database
        await asyncio.gather(*(self.start(i) for i in range(1, self.count)))
        await self._connected()

    async def _connected(self) -> None:
        if self.mode == "socket":
            await self.fake.wait_for_sockets(self.live(), seconds=15)

    async def kill(self, i: int) -> None:
        self.ports[i] = None
        await self.current(i).kill()
        await self._connected()

    async def restart(self, i: int) -> None:
        await self.start(i)
        await self._connected()

    def check_alive(self) -> None:
        """Every worker not killed by the test still runs."""
        for i, runs in enumerate(self.runs):
            if runs and runs[-1].returncode is not None and runs[-1].returncode != -9:
                raise AssertionError(f"w{i} exited by itself:\n{runs[-1].stderr_text()[-4000:]}")

    async def stop_all(self) -> list[int]:
        running = [runs[-1] for runs in self.runs if runs and runs[-1].running]
        return list(await asyncio.gather(*(bot.stop(timeout=30) for bot in running)))

    async def close(self) -> None:
        for runs in self.runs:
            for bot in runs:
                await bot.kill()

    def stderr(self) -> str:
        return "".join(
            f"--- w{i} run {n} (exit {bot.returncode}) ---\n{bot.stderr_text()}"
            for i, runs in enumerate(self.runs)
            for n, bot in enumerate(runs)
        )

    async def outbox_pending(self) -> list[str]:
        """The rows still to be sent, described for a failure message."""
        conn = await asyncpg.connect(self.envs[0]["DATABASE_URL"], timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT id, kind, audience, attempts, last_error, lease_owner, lease_until,"
                " next_attempt_at, attempt_started_at FROM outbox WHERE status = 'pending'"
                " ORDER BY id LIMIT 20"
            )
        finally:
            await conn.close()
        return [str(dict(row)) for row in rows]

    async def outbox_waiting(self) -> int:
        """How many outbox rows are still to be sent (pending, leased or not)."""
        conn = await asyncpg.connect(self.envs[0]["DATABASE_URL"], timeout=10)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'"))
        finally:
            await conn.close()


@dataclass
class Outcome:
    mode: Mode
    workers: int
    plan: Plan
    traffic: Traffic
    log: PostLog
    fleet: Fleet
    victim: int
    at_kill: dict[str, int]
    kill_point: str
    exit_codes: list[int]
    seconds: float
    problems: list[Problem] = field(default_factory=list)

    def headline(self) -> str:
        t, posts = self.traffic, self.log.posts
        by_worker: dict[str, int] = {}
        for post in posts:
            by_worker[post.worker] = by_worker.get(post.worker, 0) + 1
        return (
            f"{self.mode} x{self.workers}: {len(self.plan.customers)} customers, "
            f"{self.plan.customer_messages} customer messages + {self.plan.agent_replies} agent "
            f"replies, {t.redeliveries} redeliveries; w{self.victim} killed ({self.kill_point}) "
            f"after {self.at_kill['customer']} customer / {self.at_kill['agent']} agent acks; "
            f"{len(posts)} posts {dict(sorted(by_worker.items()))}; exit codes "
            f"{self.exit_codes}; {self.seconds:.1f}s"
        )

    def report(self) -> str:
        return self.headline() + "\n" + summary(self.problems)


async def run_burst(
    fake: FakeSlack,
    url: str,
    cwd: Path,
    *,
    mode: Mode,
    workers: int,
    customers: int = 200,
    seed: int = 1,
    kill_after: float = 0.4,
    restart: bool = True,
    settle: float = 90,  # a killed worker's leases run out after 30 s
) -> Outcome:
    """See the module docstring."""
    began = time.monotonic()
    rng = random.Random(seed)
    plan = Plan.make(rng, customers)
    fake.staff = set(AGENTS)
    fake.users = {a: {"name": f"Agent {a[-1]}"} for a in AGENTS}
    fake.latency = 0.005  # a post in flight when the kill comes still lands
    fleet = Fleet(fake, url, cwd, mode, workers)
    log = PostLog(fake, fleet.names)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(fleet.close)
        if mode == "socket":
            transport: SocketModeSlack | LoadBalancer = SocketModeSlack(fake)
        else:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            transport = LoadBalancer(session, fleet.urls)
        traffic = Traffic(fake, plan, transport, log)
        stack.push_async_callback(_quietly_stop, traffic)
        await fleet.start_all()
        traffic.start()
        victim = rng.randrange(workers)
        want = int(plan.customer_messages * kill_after)
        reached = await traffic.wait_acked(want, min(5, plan.agent_replies), timeout=60)
        fleet.check_alive()
        assert reached, f"the burst stalled before the kill: {traffic.acked}\n{fleet.stderr()}"
        kill_point = await _just_as_it_posts(fake, fleet, victim)
        at_kill = dict(traffic.acked)
        await fleet.kill(victim)
        assert at_kill["customer"] < plan.customer_messages, "killed after the burst"
        if restart:
            await fleet.restart(victim)
        await _settle(fleet, traffic, log, plan, settle)
        await traffic.stop()
        codes = await fleet.stop_all()
        outcome = Outcome(
            mode, workers, plan, traffic, log, fleet, victim, at_kill, kill_point, codes, 0.0
        )
        outcome.problems = audit(log, plan, traffic.unacknowledged())
        outcome.seconds = time.monotonic() - began
        return outcome


async def _quietly_stop(traffic: Traffic) -> None:
    with contextlib.suppress(Exception):  # already raised where it mattered
        await traffic.stop()


async def _just_as_it_posts(fake: FakeSlack, fleet: Fleet, victim: int) -> str:
    """Wait until the victim has sent a chat.postMessage (so one may be in flight) while
    every Socket Mode connection has an envelope unacknowledged (so the victim's is caught),
    at most 2 s."""
    token = fleet.envs[victim]["SLACK_BOT_TOKEN"]

    def mine() -> int:
        return sum(1 for c in fake.calls if c.method == "chat.postMessage" and c.token == token)

    def caught() -> bool:
        return all(fake.envelopes_outstanding())  # HTTP mode: no connection, nothing to wait

    before = mine()
    try:
        async with asyncio.timeout(2.0):
            while mine() == before or not caught():
                posts = len(fake.calls)
                with contextlib.suppress(TimeoutError):
                    await fake.wait_for_calls(posts + 1, seconds=0.5)
    except TimeoutError:
        return "no post by it within 2 s"
    return "just after one of its posts"


async def _settle(
    fleet: Fleet,
    traffic: Traffic,
    log: PostLog,
    plan: Plan,
    timeout: float,  # noqa: ASYNC109 - the whole settling's bound
) -> None:
    """Until every event is acknowledged, everything shows in Slack and the outbox is empty;
    on timeout an AssertionError with what is missing (and the audit so far)."""
    step = "acknowledgements"
    try:
        async with asyncio.timeout(timeout):
            while not await traffic.wait_done(timeout=1.0):
                fleet.check_alive()
            # every event is stored, with its outbox rows: once none is pending, all is said
            step = "an empty outbox"
            while await fleet.outbox_waiting():
                fleet.check_alive()
                calls = len(fleet.fake.calls)
                with contextlib.suppress(TimeoutError):
                    await fleet.fake.wait_for_calls(calls + 1, seconds=0.5)
    except TimeoutError:
        unacked = [(e.event_id, e.attempts, e.failures[-1:]) for e in traffic.unacknowledged()]
        raise AssertionError(
            f"not settled after {timeout}s, waiting for {step}: acknowledged {traffic.acked} "
            f"of {plan.customer_messages} + {plan.agent_replies}; unacknowledged {unacked[:10]}\n"
            + summary(audit(log, plan, traffic.unacknowledged()))
            + "\npending outbox rows:\n"
            + "\n".join(await fleet.outbox_pending())
            + f"\nstderr (tail):\n{fleet.stderr()[-6000:]}"
        ) from None
