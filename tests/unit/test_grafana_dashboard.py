"""The Grafana dashboard and the monitoring guide name only metrics that /metrics serves."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.app.exporter import Exporter
from bot.app.health import LAG_BUCKETS
from bot.clock import FrozenClock
from bot.metrics import ProcessCounts
from storage.metrics import DeskFigures

ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"\bsupportbot_[a-z_]+")


def served() -> set[str]:
    registry = CollectorRegistry()
    exporter = Exporter(FrozenClock(), ["slack"], {"outbox": ()}, lambda: timedelta(0))
    exporter.counts = ProcessCounts()
    exporter.figures = DeskFigures()
    registry.register(exporter)
    Histogram("supportbot_event_loop_lag_seconds", "", buckets=LAG_BUCKETS, registry=registry)
    text = generate_latest(registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_the_dashboard_and_the_guide_use_served_metrics() -> None:
    names = served()
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text("utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for expr in exprs for name in _NAME.findall(expr)}
    assert used, "the dashboard shows no supportbot metric"
    assert used <= names, used - names
    # a histogram's series by their family's name
    families = {re.sub(r"_(bucket|count|sum|created)$", "", n) for n in names}
    guide = set(_NAME.findall((ROOT / "docs" / "monitoring.md").read_text("utf-8")))
    assert guide <= names | families, guide - names - families
    assert families <= guide, families - guide  # every metric served is in the guide
