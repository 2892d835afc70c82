"""A burst: 300 customers write to the bot at once, in a Slack that is slow and rate limited
the way Slack is (100 ms added to every Web API call; chat.postMessage limited per channel
by a token bucket, 4 at once then 1 per second, and HTTP 429 with Retry-After past it).

The bot is the real `supportbot run` (Socket Mode, desk, outbox sender, Slack adapter) as
a child process against the fake Slack in this one. A child process measures what a user
feels: the fake's own work (300 envelopes, every call recorded and rate-checked, messages
kept) runs on this process's CPU and event loop, not the bot's, and the bot is started
and configured exactly as an operator would start it (environment variables only).

What is printed, per database (a fresh SQLite file, and PostgreSQL when it is reachable):
- acknowledgement: from the moment a customer's message goes out to the bot (its Socket
  Mode envelope) to the moment the bot's first post into that customer's DM is accepted
  by the fake (stamped in the fake when it carries the post out, after its latency):
  p50, p95, max, next to the floor: one chat.postMessage round trip through slack_sdk's
  AsyncWebClient against the same fake, measured in the same run (median of 10).
  Acknowledgements still missing after ACK_WAIT seconds count as "more than ACK_WAIT".
- staff channel: posts accepted into the staff channel (cards and thread replies alike:
  Slack counts one channel) during WINDOW seconds from the first post that reaches it,
  next to what the platform allows in that window: the bucket is full when the window
  opens, so the burst counts as allowed, 4 + 1/s x WINDOW posts. The ratio cannot exceed
  1. The whole queue (two staff posts per customer, 600 posts) would take ten minutes at
  1/s; the window is a sample of it.
- refused: calls answered 429 / all Web API calls the fake carried out from the burst to
  the end of the measurement (every method, not only posts).
- for information, the CPU time the bot's processes spent from the burst until the last
  acknowledgement, per customer: a process that works that long for the burst cannot
  acknowledge its last customers sooner, whatever the order of its work.
- first, this machine's floor for the whole burst, measured in the same run: the same 300
  customers through a bare Bolt app (bench/bare_bot.py) that only looks each one up and
  answers in their DM, with no database: what Bolt, slack_sdk and aiohttp cost here, and
  two round trips, before anything supportbot adds.

Slack's side behaves as Slack does: an envelope not acknowledged within 3 s is delivered
again (same event id, a new envelope, `retry_attempt` counting up), up to 3 times.
Before the burst one customer warms the bot up (imports, templates, staff list cache), and
the staff channel's bucket is left to fill again.

Targets: acknowledgement p95 at most 1 s; staff channel at least 90 % of the allowed rate;
at most 5 % of calls refused. Then, for information, two worker processes share PostgreSQL
and Slack's envelopes (spread over their Socket Mode connections, as Slack does)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.burst_slack import (
    BURST,
    CUSTOMERS,
    LATENCY,
    PER_SECOND,
    REDELIVER_AFTER,
    STAFF_CHANNEL,
    Customer,
    Stamped,
    dm,
    floor_round_trip,
    is_post,
    write,
)
from bench.pg import POSTGRES, fresh_postgres
from tests.adapters.fake_slack import FakeSlack, running_fake_slack
from tests.support.bot_process import BotProcess, slack_env

WINDOW = 30.0  # seconds of the staff channel sampled
ACK_WAIT = 30.0  # seconds after the burst that acknowledgements are waited for
STOP_WAIT = 5.0  # seconds after SIGTERM before the bot is killed (shutdown is not measured)

TARGET_ACK_P95 = 1.0  # seconds
TARGET_STAFF_RATIO = 0.90
TARGET_REFUSED = 0.05

AGENT = "UAGENT0001"
DB_NAME = "supportbot_bench_burst"
ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass
class Figures:
    label: str
    floor: float  # seconds, one round trip
    acks: list[float]  # seconds, for the customers acknowledged in time
    missing: int  # customers not acknowledged within ACK_WAIT
    staff_accepted: int
    staff_refused: int
    staff_window: float  # seconds actually sampled (WINDOW, or less if it never opened)
    calls: int
    refused: int
    refused_by_method: Counter[str]
    redeliveries: int
    envelope_acks: list[float]  # seconds until the bot acknowledged each envelope
    errors: int  # tracebacks in the bot's log
    fake_lag: float  # seconds, the worst lag of this process's loop (the fake's) meanwhile
    bot_cpu: float | None  # CPU seconds of the bot's processes, burst to last acknowledgement

    @property
    def allowed(self) -> float:
        return BURST + PER_SECOND * self.staff_window

    @property
    def ratio(self) -> float:
        return self.staff_accepted / self.allowed if self.allowed else 0.0

    @property
    def refused_share(self) -> float:
        return self.refused / self.calls if self.calls else 0.0

    def ack_quantile(self, q: float) -> float:
        """The q-quantile (nearest rank); a missing acknowledgement counts as infinitely late."""
        values = sorted(self.acks) + [float("inf")] * self.missing
        if not values:
            return float("inf")
        return values[max(0, math.ceil(q * len(values)) - 1)]  # nearest rank

    def met(self) -> tuple[bool, bool, bool]:
        return (
            self.ack_quantile(0.95) <= TARGET_ACK_P95,
            self.ratio >= TARGET_STAFF_RATIO,
            self.refused_share <= TARGET_REFUSED,
        )


async def _warm_up(fake: FakeSlack, stamped: Stamped, *, staff: bool = True) -> None:
    """One customer before the burst: acknowledged, carded and relayed; then the staff
    channel's bucket fills again (and the bot's own idea of it, if it keeps one)."""
    warm = Customer(CUSTOMERS)  # an index outside the burst's
    await write(fake, warm)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        calls = [c for _, c in stamped.calls]
        answered = any(is_post(c, dm(warm.index)) and c.result for c in calls)
        posted = sum(1 for c in calls if is_post(c, STAFF_CHANNEL) and c.result)
        if answered and (posted >= 2 or not staff):
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("the warm-up customer was not acknowledged, carded and relayed")
    await asyncio.sleep(BURST / PER_SECOND + 1)


async def _lag_probe(lags: list[float], tick: float = 0.01) -> None:
    """How late a 10 ms ticker wakes in this process: the fake's own loop under the burst,
    which would delay its answers (and so inflate the figures) if it were busy."""
    while True:
        started = time.monotonic()
        await asyncio.sleep(tick)
        lags.append(time.monotonic() - started - tick)


def _cpu_seconds(bots: list[BotProcess]) -> float | None:
    """User and system time of the bots' processes so far (Linux), else None."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for bot in bots:
        try:
            with Path(f"/proc/{bot.pid}/stat").open() as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


async def _burst(
    fake: FakeSlack, stamped: Stamped, bots: list[BotProcess], label: str, *, staff: bool = True
) -> Figures:
    floor = await floor_round_trip(fake)
    customers = [Customer(i) for i in range(CUSTOMERS)]
    by_dm = {dm(c.index): c for c in customers}
    acked_at: dict[int, float] = {}
    lags: list[float] = []
    probe = asyncio.create_task(_lag_probe(lags))
    cpu_start, cpu_acked = _cpu_seconds(bots), None
    start = time.monotonic()
    writers = [asyncio.create_task(write(fake, c)) for c in customers]
    staff_open: float | None = None
    seen = len(stamped.calls)
    while True:
        for at, call in stamped.calls[seen:]:
            if at < start or call.method != "chat.postMessage":
                continue
            channel = str(call.args.get("channel", ""))
            if channel == STAFF_CHANNEL and staff_open is None:
                staff_open = at
            customer = by_dm.get(channel)
            if customer is not None and call.result and customer.index not in acked_at:
                acked_at[customer.index] = at
        seen = len(stamped.calls)
        now = time.monotonic()
        acks_done = len(acked_at) == CUSTOMERS or now >= start + ACK_WAIT
        if acks_done and cpu_acked is None:
            cpu_acked = _cpu_seconds(bots)
        staff_done = (
            not staff
            or (staff_open is not None and now >= staff_open + WINDOW)
            or (staff_open is None and now >= start + ACK_WAIT)
        )
        if acks_done and staff_done:
            break
        for bot in bots:
            if not bot.running:
                raise RuntimeError(
                    f"supportbot exited during the burst:\n{bot.stderr_text()[-4000:]}"
                )
        await asyncio.sleep(0.05)
    end = time.monotonic()
    for task in (*writers, probe):
        task.cancel()
    await asyncio.gather(*writers, probe, return_exceptions=True)

    window = stamped.between(start, end)
    staff_window = 0.0
    staff_accepted = staff_refused = 0
    if staff_open is not None:
        staff_window = min(WINDOW, end - staff_open)
        for at, call in window:
            if is_post(call, STAFF_CHANNEL) and staff_open <= at <= staff_open + staff_window:
                staff_accepted += bool(call.result)
                staff_refused += call.status == 429
    refused = [call for _, call in window if call.status == 429]
    acks = [acked_at[c.index] - c.sent_at for c in customers if c.index in acked_at]
    return Figures(
        label=label,
        floor=floor,
        acks=acks,
        missing=CUSTOMERS - len(acks),
        staff_accepted=staff_accepted,
        staff_refused=staff_refused,
        staff_window=staff_window,
        calls=len(window),
        refused=len(refused),
        refused_by_method=Counter(call.method for call in refused),
        redeliveries=sum(max(0, c.envelopes - 1) for c in customers),
        envelope_acks=[c.acked_at - c.sent_at for c in customers if c.acked_at is not None],
        errors=sum("Traceback" in line for bot in bots for line in bot.stderr_lines),
        fake_lag=max(lags, default=0.0),
        bot_cpu=None if cpu_start is None or cpu_acked is None else cpu_acked - cpu_start,
    )


async def measure(
    database_url: str, label: str, workers: int = 1, *, bare: bool = False
) -> Figures:
    """`workers` processes share the database (PostgreSQL) and Slack's envelopes, as Slack
    spreads them over an app's Socket Mode connections. `bare`: bench.bare_bot instead of
    supportbot, the floor (no database, nothing for the staff channel)."""
    async with running_fake_slack(latency=LATENCY) as fake:
        fake.staff = {AGENT}
        fake.limit_posts(BURST, PER_SECOND)
        stamped = Stamped()
        stamped.install(fake)
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite:///{Path(tmp) / 'desk.db'}"
            env = slack_env(fake.base_url + "api/", url, STAFF_CHANNEL, PYTHONPATH=ROOT)
            argv = [sys.executable, "-m", "bench.bare_bot"] if bare else None
            async with contextlib.AsyncExitStack() as stack:
                bots = []
                for number in range(workers):
                    folder = Path(tmp) / f"worker{number}"
                    folder.mkdir()
                    bot = await stack.enter_async_context(BotProcess(env, folder, argv))
                    await bot.start(timeout=60)
                    bots.append(bot)
                await fake.wait_for_sockets(workers, seconds=10)
                await _warm_up(fake, stamped, staff=not bare)
                figures = await _burst(fake, stamped, bots, label, staff=not bare)
                for bot in bots:
                    try:
                        await bot.stop(timeout=STOP_WAIT)
                    except TimeoutError:  # killed; not what is measured here, but worth knowing
                        print(
                            f"burst ({label}): supportbot did not stop within {STOP_WAIT:g} s "
                            "of SIGTERM (killed)"
                        )
    return figures


def _seconds(value: float) -> str:
    return f"> {ACK_WAIT:.0f} s" if value == float("inf") else f"{value:.2f} s"


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:.2f}/s" if seconds else "-"


def _times(value: float, floor: float) -> str:
    return "inf x" if value == float("inf") else f"{value / floor:.1f}x"


def report(f: Figures) -> bool:
    ack_ok, staff_ok, refused_ok = f.met()
    p50, p95, top = (f.ack_quantile(q) for q in (0.50, 0.95, 1.0))
    envelope_p95 = (
        statistics.quantiles(f.envelope_acks, n=100, method="inclusive")[94]
        if len(f.envelope_acks) > 1
        else float("inf")
    )
    missing = (
        f", {f.missing} not acknowledged within {ACK_WAIT:.0f} s (counted as later)"
        if f.missing
        else ""
    )
    methods = ", ".join(f"{m} {n}" for m, n in f.refused_by_method.most_common()) or "none"
    cpu = (
        ""
        if f.bot_cpu is None
        else f"; the bot's CPU from the burst to the last acknowledgement {f.bot_cpu:.2f} s "
        f"({f.bot_cpu / CUSTOMERS * 1000:.1f} ms per customer)"
    )
    print(
        f"burst ({f.label}, {CUSTOMERS} customers at once, Slack latency {LATENCY * 1000:.0f} ms, "
        f"posts {BURST} at once then {PER_SECOND:g}/s per channel):\n"
        f"  acknowledgement in the DM: p50 {_seconds(p50)}  p95 {_seconds(p95)}  "
        f"max {_seconds(top)}{missing}  (floor: one API round trip {f.floor * 1000:.0f} ms; "
        f"p95 {_times(p95, f.floor)} floor)  "
        f"[target p95 <= {TARGET_ACK_P95:g} s: {'met' if ack_ok else 'MISSED'}]\n"
        f"  staff channel: {f.staff_accepted} posts accepted in {f.staff_window:.0f} s from its "
        f"first post ({_rate(f.staff_accepted, f.staff_window)}, {f.staff_refused} refused); "
        f"the platform allows {f.allowed:.0f} ({BURST} at once + {PER_SECOND:g}/s, "
        f"{_rate(f.allowed, f.staff_window)}): ratio {f.ratio:.2f}  "
        f"[target >= {TARGET_STAFF_RATIO:.2f}: {'met' if staff_ok else 'MISSED'}]\n"
        f"  refused (429): {f.refused} of {f.calls} Web API calls ({f.refused_share:.1%}; "
        f"{methods})  [target <= {TARGET_REFUSED:.0%}: {'met' if refused_ok else 'MISSED'}]\n"
        f"  (information: envelopes acknowledged by the bot p95 {_seconds(envelope_p95)}, "
        f"{f.redeliveries} redelivered after {REDELIVER_AFTER:g} s; "
        f"{f.errors} tracebacks in the bot's log; the fake's event loop lagged at most "
        f"{f.fake_lag * 1000:.0f} ms{cpu})"
    )
    return ack_ok and staff_ok and refused_ok


def report_bare(f: Figures) -> None:
    p50, p95, top = (f.ack_quantile(q) for q in (0.50, 0.95, 1.0))
    cpu = "" if f.bot_cpu is None else f", {f.bot_cpu / CUSTOMERS * 1000:.1f} ms CPU per customer"
    print(
        f"burst floor on this machine, the same {CUSTOMERS} customers through a bare Bolt app "
        "that only looks each one up and answers in their DM (no database, no ticket): "
        f"p50 {_seconds(p50)}  p95 {_seconds(p95)}  max {_seconds(top)}{cpu}"
    )


async def main() -> bool:
    report_bare(await measure("", "bare Bolt app", bare=True))
    results = [report(await measure("", "sqlite"))]
    for workers in (1, 2):
        postgres = await fresh_postgres(DB_NAME, "burst")
        if postgres is None:
            break
        await postgres.dispose()  # created empty; the bot migrates it
        label = "postgresql" + (f", {workers} worker processes" if workers > 1 else "")
        figures = await measure(f"{POSTGRES}/{DB_NAME}", label, workers)
        ok = report(figures)
        if workers == 1:  # several workers: information, the way past one process's CPU
            results.append(ok)
    return all(results)


if __name__ == "__main__":
    asyncio.run(main())
