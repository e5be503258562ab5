"""Shared test helpers: simulated feeds small enough for unit tests, the tables a user reads,
the bench command run as a user runs it, and small hand-made events for the stream."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import count
from typing import Any

import duckdb
import pyarrow as pa

from shopstream.alerts import (
    ANOMALY_SCHEMA,
    EVALUATED_SCHEMA,
    AlertChanges,
    create_tables,
    empty_evaluated,
    update_alerts,
)
from shopstream.generator import Simulator
from shopstream.ingest.store import transaction
from shopstream.settings import GeneratorSettings


def user_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """The ingestion tables a user reads, without ingestion times (which differ between runs)."""
    return {
        "events": connection.sql(
            "SELECT * EXCLUDE (received_ts) FROM events ORDER BY event_id"
        ).to_arrow_table(),
        "quarantine": connection.sql(
            "SELECT * EXCLUDE (received_at, batch_id) FROM quarantine ORDER BY quarantine_id"
        ).to_arrow_table(),
    }


CLOCK = datetime(2027, 1, 1, tzinfo=UTC)
"""An ingestion clock later than any simulated event: only injected times are in the future."""


@lru_cache(maxsize=8)
def simulated(
    days: float = 2.0, text_faults: bool = False, **settings: object
) -> tuple[Simulator, pa.Table, pa.Table]:
    """A simulator and the events and labels of ``days`` simulated days (cached per arguments)."""
    simulator = Simulator(GeneratorSettings(**settings), text_faults=text_faults)  # type: ignore[arg-type]
    batches = list(simulator.batches(days=days))
    events = pa.concat_tables([b.events for b in batches])
    labels = pa.concat_tables([b.labels for b in batches])
    return simulator, events, labels


def bench_report(stage: str, events: int, timeout: int = 1200) -> dict[str, Any]:
    """The JSON report of ``shopstream bench STAGE --events N --json``, run in a child process."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shopstream.cli.main import main; main()",
            "bench",
            stage,
            "--events",
            str(events),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    print(json.dumps(report, indent=2))  # shown by -rA / on failure, for the record
    return report


# -- small hand-made event sets for the stream --------------------------------------------------
_ids = count()


def at(clock: str) -> datetime:
    """A time on 2026-03-02 (UTC) from ``HH:MM`` or ``HH:MM:SS``."""
    return datetime.fromisoformat(f"2026-03-02T{clock}").replace(tzinfo=UTC)


def event(event_type: str, clock: str, session: str | None = "s1", **fields: Any) -> dict[str, Any]:
    """One event in the contract's shape; money as Decimal, items as (product, quantity, price)."""
    row: dict[str, Any] = {
        "event_id": f"e{next(_ids)}",
        "event_type": event_type,
        "event_ts": at(clock),
        "schema_version": 2,
        "session_id": session,
        "channel": "web",
        "country": "DE",
        "device": "desktop",
    }
    if "items" in fields:
        fields["items"] = [
            {"product_id": p, "quantity": q, "unit_price": Decimal(str(price))}
            for p, q, price in fields["items"]
        ]
        fields.setdefault(
            "order_total", sum(line["quantity"] * line["unit_price"] for line in fields["items"])
        )
    for money in ("unit_price", "order_total", "price"):
        if fields.get(money) is not None:
            fields[money] = Decimal(str(fields[money]))
    return row | fields


def purchase(
    clock: str, items: list[tuple[str, int, float]], session: str = "s1", **fields: Any
) -> dict[str, Any]:
    """A paid order of ``items`` (product, quantity, unit price)."""
    fields.setdefault("order_id", f"o{next(_ids)}")
    return event("purchase", clock, session, payment_method="card", currency="EUR", items=items, **fields)


Feed = Callable[..., None]


ALERT_T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""The start of the first five-minute window in alert tests."""


def anomaly_rows(*rows: dict[str, Any]) -> pa.Table:
    """Anomaly rows (``shopstream.alerts.ANOMALY_SCHEMA``) from short specs.

    Each spec may give ``anomaly_type`` (default ``revenue_drop``), ``scope`` (``all``),
    ``minute`` (the window's start, minutes after ``ALERT_T0``; windows last five
    minutes), ``severity`` (``medium``), ``observed`` (40.0), ``expected`` (100.0) and
    ``description``.
    """
    columns: dict[str, list[Any]] = {name: [] for name in ANOMALY_SCHEMA.names}
    for spec in rows:
        start = ALERT_T0 + timedelta(minutes=spec.get("minute", 0))
        anomaly_type = spec.get("anomaly_type", "revenue_drop")
        observed = spec.get("observed", 40.0)
        columns["window_start"].append(start)
        columns["window_end"].append(start + timedelta(minutes=5))
        columns["anomaly_type"].append(anomaly_type)
        columns["scope"].append(spec.get("scope", "all"))
        columns["severity"].append(spec.get("severity", "medium"))
        columns["description"].append(spec.get("description", f"{anomaly_type} at {observed}"))
        columns["observed"].append(observed)
        columns["expected"].append(spec.get("expected", 100.0))
        columns["detected_at"].append(start + timedelta(minutes=6))
    return pa.table(columns, schema=ANOMALY_SCHEMA)


def evaluated_rows(*pairs: tuple[str, str, int]) -> pa.Table:
    """Evaluated windows from ``(anomaly_type, scope, minute)``: the window starting ``minute``."""
    return pa.table(
        {
            "anomaly_type": [p[0] for p in pairs],
            "scope": [p[1] for p in pairs],
            "window_end": [ALERT_T0 + timedelta(minutes=p[2] + 5) for p in pairs],
        },
        schema=EVALUATED_SCHEMA,
    )


def alert_store() -> duckdb.DuckDBPyConnection:
    """An in-memory database with the alert tables."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    create_tables(connection)
    return connection


def alert_batch(
    connection: duckdb.DuckDBPyConnection, anomalies: pa.Table, evaluated: pa.Table | None, now: datetime
) -> AlertChanges:
    """What the stream does per micro-batch: alerts updated in its transaction, then committed."""
    with transaction(connection):
        return update_alerts(
            connection, anomalies, empty_evaluated() if evaluated is None else evaluated, now
        )
