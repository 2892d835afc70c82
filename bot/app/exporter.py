"""The desk's Prometheus metrics, made when /metrics is scraped.

Two kinds: the desk's figures read from the database just before (tickets, the outbox's
backlog, response targets, overdue reminders), the same from every process sharing it, so
a dashboard takes their max, not their sum; and this process's own counts (bot.metrics, the
pacers, the tick), which a dashboard sums over processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.clock import Clock
from bot.delivery.pacing import Pacer
from bot.metrics import COUNTS, ProcessCounts
from storage.metrics import DeskFigures


class Exporter(Collector):
    def __init__(
        self,
        clock: Clock,
        platforms: Sequence[str],
        pacers: Mapping[str, Sequence[Pacer]],
        tick_lag: Callable[[], timedelta | None],
        counts: ProcessCounts = COUNTS,
    ) -> None:
        self.clock = clock
        self.platforms = platforms  # shown at 0 before anything happened on them
        self.pacers = pacers
        self.tick_lag = tick_lag
        self.counts = counts
        self.figures: DeskFigures | None = None  # read before each scrape; None: unreadable

    def collect(self) -> Iterator[Metric]:
        yield from self._desk()
        yield from self._process()

    def _by_platform(
        self, family: CounterMetricFamily | GaugeMetricFamily, values: Mapping[str, float]
    ) -> CounterMetricFamily | GaugeMetricFamily:
        for platform in sorted(set(self.platforms) | set(values)):
            family.add_metric([platform], values.get(platform, 0))
        return family

    def _desk(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "supportbot_database_up", "1 when this scrape could read the desk's figures"
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        figures = self.figures
        if figures is None:
            return
        now = self.clock.now()
        platform = ["platform"]
        yield self._by_platform(
            CounterMetricFamily(
                "supportbot_tickets_opened", "Tickets opened, by platform", labels=platform
            ),
            figures.opened,
        )
        yield self._by_platform(
            CounterMetricFamily(
                "supportbot_tickets_closed",
                "Tickets closed (each close; a reopened ticket closes again), by platform",
                labels=platform,
            ),
            figures.closed,
        )
        targets = CounterMetricFamily(
            "supportbot_response_targets",
            "First-response targets met (answered in time) and breached, by platform",
            labels=["platform", "outcome"],
        )
        for name in sorted(set(self.platforms) | set(figures.opened)):
            targets.add_metric([name, "met"], figures.targets_met.get(name, 0))
            targets.add_metric([name, "breached"], figures.targets_breached.get(name, 0))
        yield targets
        yield self._by_platform(
            GaugeMetricFamily(
                "supportbot_outbox_pending",
                "Outbox messages waiting to be delivered, by platform",
                labels=platform,
            ),
            figures.pending,
        )
        yield self._by_platform(
            GaugeMetricFamily(
                "supportbot_outbox_oldest_pending_age_seconds",
                "How long the oldest waiting outbox message has waited (0: none waits)",
                labels=platform,
            ),
            {p: _seconds(now - at) for p, at in figures.oldest_pending.items()},
        )
        overdue = GaugeMetricFamily(
            "supportbot_reminders_overdue_seconds",
            "How long the earliest due follow-up, response target or digest has waited to "
            "be fired (0: nothing is due)",
        )
        due = figures.next_reminder_due
        overdue.add_metric([], _seconds(now - due) if due is not None else 0)
        yield overdue

    def _process(self) -> Iterator[Metric]:
        counts = self.counts
        deliveries = CounterMetricFamily(
            "supportbot_deliveries",
            "Delivery attempts by how they ended: sent, retry (to be tried again) or failed "
            "(for good); this process's",
            labels=["platform", "result"],
        )
        results = {"sent": counts.sent, "retry": counts.retry, "failed": counts.failed}
        names = sorted(set(self.platforms).union(*results.values()))
        for name in names:
            for result, counter in results.items():
                deliveries.add_metric([name, result], counter[name])
        yield deliveries
        yield self._by_platform(
            CounterMetricFamily(
                "supportbot_rate_limited",
                "Times a platform answered Retry-After (HTTP 429); this process's",
                labels=["platform"],
            ),
            counts.retry_after,
        )
        waits = CounterMetricFamily(
            "supportbot_rate_limit_waits",
            "Calls that waited for their route's turn, paced ahead of the platform's limits; "
            "by pacer (outbox: delivery; an adapter's: its own calls); this process's",
            labels=["pacer"],
        )
        for name, pacers in sorted(self.pacers.items()):
            waits.add_metric([name], sum(p.waits for p in pacers))
        yield waits
        yield self._by_platform(
            CounterMetricFamily(
                "supportbot_inbound_deduplicated",
                "Inbound events seen before (retries, redeliveries, replays) that changed "
                "nothing; this process's",
                labels=["platform"],
            ),
            counts.deduplicated,
        )
        lag = self.tick_lag()
        if lag is not None:
            tick = GaugeMetricFamily(
                "supportbot_tick_lag_seconds",
                "How far past its interval the scheduler's tick is (0: on time); this process's",
            )
            tick.add_metric([], _seconds(lag))
            yield tick


def _seconds(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0)
