"""``shopstream bench detect``: how well the stream's detectors find the simulator's anomalies.

It streams a simulated week (default settings, default anomaly rate) through
ingestion and the stream into a scratch DuckDB file and scores what was flagged
against the simulator's ground-truth labels, which the pipeline never sees:

- **orders** (``high_quantity``, ``price_spike``), **bots** (``bot_session``) and
  **users** (``future_registration``): recall and precision by the labelled order,
  session or event. A future registration counts as found when ingestion quarantined
  it (``future_registration``) or the stream flagged it.
- **metric incidents**: each is found when an anomaly of its type starts in the
  incident's first 5-minute window or one of the next two.

A second week with anomalies disabled counts false metric alerts: runs of consecutive
anomalous windows of one type and scope, the way the alert lifecycle opens one alert
while a condition holds. ``--events`` does not apply: the stage always runs a week.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.bench.harness import Scored
from shopstream.generator import Simulator
from shopstream.ingest import store
from shopstream.ingest.sources import SimulatorSource
from shopstream.settings import GeneratorSettings, Settings
from shopstream.stream.runner import stream_source

DAYS = 7.0
CLOCK = datetime(2100, 1, 1, tzinfo=UTC)
"""Ingestion's clock: after every simulated event, so only injected times are in the future."""
RECORD_KINDS = {
    "orders": ("order", ("high_quantity", "price_spike"), ("high_quantity", "price_spike")),
    "bots": ("session", ("bot_session",), ("bot_session",)),
    "users": ("event", ("future_registration",), ("future_registration",)),
}
"""Group -> (what a label names, label kinds, audit rules)."""
INCIDENT_TYPES = {
    "revenue_drop": "revenue_drop",
    "traffic_spike": "traffic_spike",
    "traffic_drop": "traffic_drop",
    "cart_abandonment_spike": "cart_abandonment_spike",
    "conversion_drop": "conversion_drop",
    "missing_prices": "data_quality",
    "category_dominance": "category_imbalance",
}
"""Injected incident kind -> the anomaly type that should report it."""


def streamed_week(settings: Settings, path: Path) -> tuple[duckdb.DuckDBPyConnection, pa.Table, int]:
    """Stream a simulated week into ``path``: the connection, the labels and the events received."""
    connection = store.connect(path)
    source = SimulatorSource(settings.generator, days=DAYS)
    report = stream_source(connection, source, "simulator", settings, clock=lambda: CLOCK)
    simulator = Simulator(settings.generator)
    labels = pa.concat_tables([batch.labels for batch in simulator.batches(days=DAYS)])
    # the simulator plans incidents for its whole last two-day chunk, past the end of a --days run;
    # those never reach the feed, so they are not the detectors' to find
    end = pa.scalar(settings.generator.start + timedelta(days=DAYS), labels.schema.field("start_ts").type)
    labels = labels.filter(pc.invert(pc.fill_null(pc.greater_equal(labels.column("start_ts"), end), False)))
    return connection, labels, report.ingest.received


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def score_records(connection: duckdb.DuckDBPyConnection, labels: pa.Table) -> dict[str, Any]:
    """Recall and precision per group of record anomalies."""
    connection.register("_labels", labels)
    scores: dict[str, Any] = {}
    try:
        for group, (entity, kinds, rules) in RECORD_KINDS.items():
            key = "event_id" if entity == "event" else "entity_id"
            truth = {
                row[0]
                for row in connection.execute(
                    f"SELECT DISTINCT {key} FROM _labels WHERE kind IN (SELECT unnest(?))", [list(kinds)]
                ).fetchall()
            }
            flagged_query = f"SELECT DISTINCT {key} FROM audit WHERE rule IN (SELECT unnest(?))"
            if group == "users":
                flagged_query += " UNION SELECT event_id FROM quarantine WHERE reason = 'future_registration'"
            flagged = {row[0] for row in connection.execute(flagged_query, [list(rules)]).fetchall()}
            hits = len(truth & flagged)
            scores[group] = {
                "labelled": len(truth),
                "flagged": len(flagged),
                "recall": _ratio(hits, len(truth)),
                "precision": _ratio(hits, len(flagged)),
            }
    finally:
        connection.unregister("_labels")
    return scores


def score_incidents(connection: duckdb.DuckDBPyConnection, labels: pa.Table) -> dict[str, Any]:
    """Per incident kind: how many were injected and how many were found within 2 windows."""
    connection.register("_labels", labels)
    connection.register(
        "_types", pa.table({"kind": list(INCIDENT_TYPES), "anomaly_type": list(INCIDENT_TYPES.values())})
    )
    try:
        rows = connection.execute(
            """
            SELECT l.kind, count(*) AS injected,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM anomalies AS a
                       WHERE a.anomaly_type = t.anomaly_type
                         AND a.window_start >= time_bucket(INTERVAL 5 MINUTE, l.start_ts)
                         AND a.window_start <= time_bucket(INTERVAL 5 MINUTE, l.start_ts) + INTERVAL 10 MINUTE
                   )) AS detected
            FROM _labels AS l JOIN _types AS t USING (kind)
            GROUP BY l.kind ORDER BY l.kind
            """
        ).fetchall()
    finally:
        connection.unregister("_labels")
        connection.unregister("_types")
    return {kind: {"injected": injected, "detected": detected} for kind, injected, detected in rows}


def false_alerts(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Alerts a clean week raised: runs of consecutive anomalous windows per type and scope."""
    rows = connection.execute(
        """
        SELECT anomaly_type, count(*) FROM (
            SELECT anomaly_type, window_start,
                   lag(window_start) OVER (PARTITION BY anomaly_type, scope ORDER BY window_start) AS previous
            FROM anomalies
        )
        WHERE previous IS NULL OR previous <> window_start - INTERVAL 5 MINUTE
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    by_type = {kind: int(n) for kind, n in rows}
    total = sum(by_type.values())
    return {"alerts": total, "per_day": round(total / DAYS, 3), "by_type": by_type}


def detect_week(_events: int) -> Scored:
    """Score the detectors on a simulated week, then count false alerts on a clean one."""
    figures: dict[str, Any] = {"days": DAYS}
    received = 0
    with tempfile.TemporaryDirectory(prefix="shopstream-detect-") as scratch:
        for name, rate in (("anomalies", None), ("clean", 0.0)):
            generator = GeneratorSettings() if rate is None else GeneratorSettings(anomaly_rate=rate)
            settings = Settings(generator=generator)
            connection, labels, events = streamed_week(settings, Path(scratch) / f"{name}.duckdb")
            received += events
            try:
                if rate is None:
                    figures["records"] = score_records(connection, labels)
                    figures["incidents"] = score_incidents(connection, labels)
                else:
                    figures["false_metric_alerts"] = false_alerts(connection)
            finally:
                connection.close()
    return Scored(received, figures)
