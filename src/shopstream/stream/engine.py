"""The micro-batch stream: accepted events in, real-time tables, flags and anomalies out.

A :class:`StreamProcessor` rides on the ingestion pipeline: each batch ingestion
accepts is handed to :meth:`StreamProcessor.process` *inside the batch's
transaction*, so the real-time tables, the stream's state and the source's
checkpoint are committed together. A crash before the commit leaves none of the
batch; the restart reads the same batch again and gets the same results.

**Event time.** The watermark trails the newest event by
``stream.allowed_lateness_seconds``. An event older than the watermark when its
batch arrives is *late*: it is counted in ``late_events`` and kept in ``events``
(the warehouse gets it) but no real-time window counts it. Tumbling windows are
1 minute (``sales``, ``product_activity``), 5 minutes (``window_metrics``,
``category_activity``, ``product_sales``, ``search_activity``, ``cart_metrics``)
and 10 minutes (trending products, high demand). State lives in DuckDB tables
(``open_sessions``, ``cart_lines``, ``product_state``, ``customer_windows``,
``stream_state``); window tables keep ``stream.retention_hours`` of event time.

**Flagged records.** The detectors put fraud-like orders, bot sessions, suspicious
customers and registrations in the future into ``audit``. Windows count a record
until it is flagged; a bot session's later events are kept out of the windows.
The warehouse leaves every audited record out of its facts and KPIs.

**Commit order of a batch** (each step idempotent within the batch's transaction):

1. count late events (``late_events``);
2. catalogue state: new products from ``products``, the batch's ``product_updated``,
   then units sold off the stock (``product_state``);
3. order and registration rules (``audit``);
4. sessions: ``open_sessions`` and ``cart_lines`` merged, bots flagged, new
   sessions and carts counted;
5. window tables, without flagged orders and bots' events: ``sales``, ``window_metrics`` (by
   event time, then the cohort figures by the window each visit started in),
   ``product_activity``, ``category_activity``, ``product_sales``, ``search_activity``;
6. suspicious customers (``customer_windows``, ``audit``);
7. advance the watermark; close the sessions it has left a timeout behind
   (``sessions``, ``abandoned_carts``, ``cart_metrics``);
8. inventory alerts (``inventory_alerts``);
9. metric detectors on the 5-minute windows the watermark closed (``anomalies``), and
   the alerts lifecycle over them (``alerts`` and the notification outbox, see
   :mod:`shopstream.alerts`);
10. prune window tables past the retention; save ``stream_state``.

Ingestion then writes its ledger and checkpoint and commits (see
:mod:`shopstream.ingest.pipeline`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.alerts import ANOMALY_SCHEMA, update_alerts
from shopstream.alerts import create_tables as create_alert_tables
from shopstream.events.contract import TIMESTAMP
from shopstream.ingest import store
from shopstream.settings import StreamSettings
from shopstream.stream.detectors import DETECTORS, NUMERIC, Baseline, Finding, Window

TABLES = (
    "stream_state",
    "late_events",
    "sales",
    "window_metrics",
    "product_activity",
    "product_sales",
    "category_activity",
    "search_activity",
    "open_sessions",
    "cart_lines",
    "sessions",
    "abandoned_carts",
    "cart_metrics",
    "product_state",
    "inventory_alerts",
    "customer_windows",
    "audit",
    "anomalies",
)
WINDOW_TABLES = (
    "sales",
    "window_metrics",
    "product_activity",
    "product_sales",
    "category_activity",
    "search_activity",
    "cart_metrics",
    "customer_windows",
)
"""Window tables pruned past the retention."""
METRIC_WINDOW = timedelta(minutes=5)
MICROS = 1_000_000
_PARAMETER = re.compile(r"\$([a-z_]+)")


def sql(name: str) -> str:
    """The text of ``sql/<name>.sql`` of the stream."""
    return store.sql(name, "shopstream.stream")


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the stream's tables and views where missing."""
    for table in TABLES:
        connection.execute(sql(table))
    connection.execute(sql("views"))
    create_alert_tables(connection)


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else datetime.fromtimestamp(micros / MICROS, UTC)


@dataclass
class StreamState:
    """Where event time stands (microseconds since the epoch; None before the first event)."""

    newest_us: int | None = None
    watermark_us: int | None = None
    checked_us: int | None = None
    pruned_us: int | None = None


class StreamProcessor:
    """Turns each accepted batch into real-time tables, flags and anomalies (see the module)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, settings: StreamSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.detectors = settings.detectors
        create_tables(connection)

    # -- plumbing -------------------------------------------------------------------------------
    @staticmethod
    def _bound(name: str, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``sql/<name>.sql`` and the values of the parameters it names (DuckDB refuses extras)."""
        text = sql(name)
        used = set(_PARAMETER.findall(text))
        return text, {k: v for k, v in values.items() if k in used}

    def _run(self, name: str, **values: Any) -> None:
        self.connection.execute(*self._bound(name, values))

    def _query(self, name: str, **values: Any) -> pa.Table:
        text, params = self._bound(name, values)
        return self.connection.sql(text, params=params).to_arrow_table()

    def state(self) -> StreamState:
        rows = self.connection.execute(
            "SELECT newest_us, watermark_us, checked_us, pruned_us FROM stream_state WHERE id = 1"
        ).fetchall()
        return StreamState(*rows[0]) if rows else StreamState()

    def _save(self, state: StreamState) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO stream_state VALUES (1, ?, ?, ?, ?)",
            [state.newest_us, state.watermark_us, state.checked_us, state.pruned_us],
        )

    # -- one batch ------------------------------------------------------------------------------
    def process(self, accepted: pa.Table, now: datetime) -> None:
        """Steps 1-10 of the commit order, inside the caller's transaction."""
        con = self.connection
        state = self.state()
        watermark = _moment(state.watermark_us)
        ts = accepted.column("event_ts")
        if watermark is None:
            on_time = pc.is_valid(ts)
        else:
            on_time = pc.fill_null(pc.greater_equal(ts, pa.scalar(watermark, TIMESTAMP)), False)
        ontime = accepted.filter(on_time)
        late = accepted.filter(pc.invert(on_time))
        relations = {"_batch": accepted, "_ontime": ontime, "_late": late}
        for name, table in relations.items():
            con.register(name, table)
        t = self.detectors
        try:
            # 1. late events
            if late.num_rows:
                self._run("update_late_events", watermark=watermark)
            # 2. catalogue state
            self._run("seed_product_state")
            self._run("update_product_state")
            self._run("subtract_sold_stock")
            # 3. order and registration rules
            self._run(
                "flag_orders",
                high_value=t.high_value_order,
                high_quantity=t.high_quantity,
                price_spike=t.price_spike_factor,
                now=now,
            )
            self._run("flag_registrations", now=now)
            # 4. sessions, carts and bots
            con.register("_batch_sessions", self._query("batch_sessions"))
            self._run("update_open_sessions")
            self._run("update_cart_lines")
            con.execute("DELETE FROM cart_lines WHERE quantity <= 0")
            self._run("flag_bots", bot_min_events=t.bot_min_events, bot_rate=t.bot_events_per_minute, now=now)
            self._run("mark_bots")
            self._run("count_new_sessions")
            # 5. window tables, without flagged orders and the events of sessions flagged as bots
            bots = con.sql("SELECT session_id FROM open_sessions WHERE is_bot").to_arrow_table().column(0)
            orders = con.sql(sql("flagged_orders")).to_arrow_table().column(0)
            flagged = pc.or_(
                pc.fill_null(pc.is_in(ontime.column("session_id"), value_set=bots), False),
                pc.fill_null(pc.is_in(ontime.column("event_id"), value_set=orders), False),
            )
            relations["_kpi"] = ontime.filter(pc.invert(flagged))
            con.register("_kpi", relations["_kpi"])
            for name in (
                "update_sales",
                "update_window_metrics",
                "update_visit_outcomes",
                "update_search_activity",
            ):
                self._run(name)
            con.register("_product_events", self._query("product_events"))
            for name in ("update_product_activity", "update_category_activity", "update_product_sales"):
                self._run(name)
            # 6. suspicious customers
            self._run("update_customer_windows", minutes=t.suspicious_minutes)
            self._run(
                "flag_customers",
                orders=t.suspicious_orders,
                amount=t.suspicious_amount,
                minutes=t.suspicious_minutes,
                now=now,
            )
            # 7. watermark, then the sessions it closes
            state = self._advance(state, ontime)
            self._close_sessions(_moment(state.watermark_us))
            # 8. inventory alerts
            if ontime.num_rows:
                self._run(
                    "update_inventory_alerts",
                    newest=pc.max(ontime.column("event_ts")).as_py(),
                    oldest=pc.min(ontime.column("event_ts")).as_py(),
                    velocity_minutes=self.settings.velocity_minutes,
                    restock_units=self.settings.restock_units,
                    restock_hours=self.settings.restock_hours,
                    high_demand=self.settings.high_demand_units,
                    now=now,
                )
            # 9. metric detectors on closed windows
            state = self._check_windows(state, now)
            # 10. retention, state
            state = self._prune(state)
            self._save(state)
        finally:
            for name in (*relations, "_product_events", "_batch_sessions"):
                con.unregister(name)

    def _advance(self, state: StreamState, ontime: pa.Table) -> StreamState:
        if not ontime.num_rows:
            return state
        newest = int(pc.max(ontime.column("event_ts").cast(pa.int64())).as_py())
        if state.newest_us is not None:
            newest = max(newest, state.newest_us)
        watermark = newest - self.settings.allowed_lateness_seconds * MICROS
        if state.watermark_us is not None:
            watermark = max(watermark, state.watermark_us)
        return StreamState(newest, watermark, state.checked_us, state.pruned_us)

    def _close_sessions(self, watermark: datetime | None) -> None:
        if watermark is None:
            return
        timeout = self.settings.session_timeout_minutes
        closing = self._query("closing_sessions", timeout=timeout, watermark=watermark)
        if not closing.num_rows:
            return
        con = self.connection
        con.register("_closing", closing)
        try:
            self._run("close_sessions")
            self._run("close_abandoned_carts", timeout=timeout)
            self._run("update_cart_metrics")
            con.execute("DELETE FROM cart_lines WHERE session_id IN (SELECT session_id FROM _closing)")
            con.execute("DELETE FROM open_sessions WHERE session_id IN (SELECT session_id FROM _closing)")
        finally:
            con.unregister("_closing")

    # -- metric detectors -----------------------------------------------------------------------
    def _check_windows(self, state: StreamState, now: datetime) -> StreamState:
        """Run every metric detector on each 5-minute window the watermark has closed."""
        if state.watermark_us is None:
            return state
        con = self.connection
        origin_us = con.execute("SELECT epoch_us(min(window_start)) FROM window_metrics").fetchall()[0][0]
        if origin_us is None:
            return state
        step = int(METRIC_WINDOW.total_seconds() * MICROS)
        first_open = (
            state.watermark_us // step
        ) * step  # windows ending at or before the watermark are closed
        start = origin_us if state.checked_us is None else state.checked_us
        if start >= first_open:
            return state
        lookback = 3 * self.detectors.baseline_windows + self.detectors.pool_windows
        history_from = max(origin_us, start - lookback * step)
        history = self._query(
            "window_history", first=_moment(history_from), last=_moment(first_open - step)
        ).to_pydict()
        fired = self._fired(_moment(history_from), _moment(first_open))
        first = (start - history_from) // step
        found = detect_windows(history, first, fired, self.detectors)
        anomalies = pa.Table.from_pylist(
            [
                {
                    "window_start": history["window_start"][index],
                    "window_end": history["window_start"][index] + METRIC_WINDOW,
                    "anomaly_type": f.anomaly_type,
                    "scope": f.scope,
                    "severity": f.severity,
                    "description": f.description,
                    "observed": float(f.observed),
                    "expected": None if f.expected is None else float(f.expected),
                    "detected_at": now,
                }
                for index, f in found
            ],
            schema=ANOMALY_SCHEMA,
        )
        con.register("_anomalies", anomalies)
        try:
            con.execute("INSERT INTO anomalies SELECT * FROM _anomalies ON CONFLICT DO NOTHING")
        finally:
            con.unregister("_anomalies")
        closed = [start + METRIC_WINDOW for start in history["window_start"][first:]]
        update_alerts(con, anomalies, self._evaluated(closed), now)
        return StreamState(state.newest_us, state.watermark_us, first_open, state.pruned_us)

    def _evaluated(self, window_ends: list[datetime]) -> pa.Table:
        """What the closed windows evaluated: every detector overall, and each live scoped alert."""
        scoped = self.connection.execute(
            "SELECT DISTINCT anomaly_type, scope FROM alerts WHERE status <> 'resolved' AND scope <> 'all'"
        ).fetchall()
        pairs = [(kind, "all") for kind in DETECTORS] + [
            (kind, scope) for kind, scope in scoped if kind in DETECTORS
        ]
        return pa.table(
            {
                "anomaly_type": [kind for _ in window_ends for kind, _ in pairs],
                "scope": [scope for _ in window_ends for _, scope in pairs],
                "window_end": pa.array([end for end in window_ends for _ in pairs], TIMESTAMP),
            }
        )

    def _fired(self, first: datetime | None, last: datetime | None) -> dict[str, set[datetime]]:
        rows = self.connection.execute(
            "SELECT anomaly_type, epoch_us(window_start) FROM anomalies"
            " WHERE window_start >= ? AND window_start < ?",
            [first, last],
        ).fetchall()
        fired: dict[str, set[datetime]] = {}
        for kind, micros in rows:
            fired.setdefault(kind, set()).add(_moment(micros))  # type: ignore[arg-type]
        return fired

    def _prune(self, state: StreamState) -> StreamState:
        """Drop window rows past the retention, at most once per hour of event time."""
        if state.watermark_us is None:
            return state
        horizon = state.watermark_us - self.settings.retention_hours * 3600 * MICROS
        if state.pruned_us is not None and horizon - state.pruned_us < 3600 * MICROS:
            return state
        cutoff = _moment(horizon)
        for table in WINDOW_TABLES:
            self.connection.execute(f"DELETE FROM {table} WHERE window_start < ?", [cutoff])
        self.connection.execute("DELETE FROM sessions WHERE last_ts < ?", [cutoff])
        return StreamState(state.newest_us, state.watermark_us, state.checked_us, horizon)


BASELINE_GROUPS = {"traffic_spike": "traffic", "traffic_drop": "traffic"}
"""Detectors of one figure in opposite directions: a window either fired in leaves both baselines."""


def detect_windows(
    history: dict[str, list[Any]],
    first: int,
    fired: dict[str, set[datetime]],
    thresholds: Any,
) -> list[tuple[int, Finding]]:
    """Findings for the windows of ``history`` from index ``first`` on.

    Each detector judges the latest ``pool_windows`` windows up to the one reported and
    compares them with a baseline that ends before the oldest of them: the previous
    ``baseline_windows`` windows in which it did not fire (earlier batches' findings are in
    ``fired``), so an incident does not become the norm while it lasts. It looks back at
    most three baselines: a change that outlasts that is the new normal, and the plain
    previous windows are used. A finding marks the window it is reported for; the windows
    it pooled are not marked, so the outcome does not depend on where batches split.
    ``traffic_spike`` and ``traffic_drop`` share their baseline (``BASELINE_GROUPS``).
    """
    size = thresholds.baseline_windows
    pool = thresholds.pool_windows
    columns = {name: np.asarray(history[name], dtype=np.float64) for name in NUMERIC}
    starts = history["window_start"]
    windows = [
        Window(
            **{name: history[name][index] for name in NUMERIC}, top_category=history["top_category"][index]
        )
        for index in range(max(first - pool + 1, 0), len(starts))
    ]
    offset = max(first - pool + 1, 0)
    quiet: dict[str, npt.NDArray[np.bool_]] = {}
    for kind in DETECTORS:
        # spikes and drops share one baseline: a recovery from a drop is no spike
        group = BASELINE_GROUPS.get(kind, kind)
        calm = np.array([s not in fired.get(kind, set()) for s in starts])
        quiet[group] = quiet[group] & calm if group in quiet else calm
    found: list[tuple[int, Finding]] = []
    for index in range(first, len(starts)):
        oldest = max(index - pool + 1, 0)
        recent = windows[oldest - offset : index + 1 - offset]
        for kind, detector in DETECTORS.items():
            calm = quiet[BASELINE_GROUPS.get(kind, kind)]
            reach = max(oldest - 3 * size, 0)
            earlier = reach + np.flatnonzero(calm[reach:oldest])[-size:]
            if len(earlier) < size:
                earlier = np.arange(max(oldest - size, 0), oldest)
            baseline = Baseline({name: values[earlier] for name, values in columns.items()})
            baseline.columns["lag"] = (index - earlier).astype(np.float64)
            finding = detector(recent, baseline, thresholds)
            if finding is not None:
                found.append((index, finding))
                calm[index] = False
    return found
