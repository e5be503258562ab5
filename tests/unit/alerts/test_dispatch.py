"""Delivery of the outbox: each sink gets each change once, failures are counted, the pipeline never waits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import duckdb
import pytest

from factories import ALERT_T0, alert_batch, alert_store, anomaly_rows, evaluated_rows
from shopstream.alerts import (
    AlertError,
    DeliveryError,
    DeliveryReport,
    Dispatcher,
    LogSink,
    Notification,
    Severity,
    deliver_pending,
    delivery_stats,
    sinks_from_settings,
)
from shopstream.settings import load_settings

NOW = ALERT_T0 + timedelta(hours=1)


class Recorder:
    """A sink that keeps what it is sent; ``gate`` (if given) holds each send until it is set."""

    def __init__(
        self,
        name: str = "recorder",
        min_severity: Severity = Severity.LOW,
        gate: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.min_severity = min_severity
        self.sent: list[tuple[int, str]] = []
        self.gate = gate
        self.entered = threading.Event()

    def send(self, notification: Notification) -> int:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=30)
        self.sent.append((notification.seq, notification.change))
        return 1


class Unreachable:
    """A sink that always gives up after three attempts."""

    name = "unreachable"
    min_severity = Severity.LOW

    def send(self, notification: Notification) -> int:
        raise DeliveryError("connection refused", attempts=3)


class Broken:
    """A sink with a bug."""

    name = "broken"
    min_severity = Severity.LOW

    def send(self, notification: Notification) -> int:
        raise KeyError("text")


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with alert_store() as connection:
        yield connection


def pipeline_batch(
    connection: duckdb.DuckDBPyConnection, *specs: dict[str, object], clear: int | None = None
) -> None:
    """What the stream does per micro-batch: alerts updated inside its own transaction."""
    evaluated = None if clear is None else evaluated_rows(("revenue_drop", "all", clear))
    alert_batch(connection, anomaly_rows(*specs), evaluated, NOW)


def test_every_sink_gets_every_change_once_in_order(connection: duckdb.DuckDBPyConnection) -> None:
    pipeline_batch(connection, {"minute": 0}, {"minute": 0, "scope": "category=Toys"})
    pipeline_batch(connection, clear=5)
    first, second = Recorder("first"), Recorder("second")
    report = deliver_pending(connection, [first, second], NOW)
    assert report == DeliveryReport(delivered=6, attempts=6)
    changes = [(1, "opened"), (2, "opened"), (3, "resolved")]
    assert first.sent == second.sent == changes
    assert deliver_pending(connection, [first, second], NOW) == DeliveryReport()
    late = Recorder("late")  # a sink added later catches up
    deliver_pending(connection, [first, late], NOW)
    assert late.sent == changes
    assert first.sent == changes


def test_alerts_below_a_sinks_min_severity_are_skipped(connection: duckdb.DuckDBPyConnection) -> None:
    pipeline_batch(connection, {"minute": 0, "severity": "low"})
    pipeline_batch(connection, {"minute": 5, "severity": "high"})
    pipeline_batch(connection, {"minute": 10, "severity": "low"}, clear=15)
    pager = Recorder("pager", min_severity=Severity.HIGH)
    report = deliver_pending(connection, [pager], NOW)
    # opened at low: skipped; escalated to high and resolved after a high peak: sent
    assert pager.sent == [(2, "escalated"), (3, "resolved")]
    assert (report.delivered, report.skipped) == (2, 1)


def test_failing_sinks_are_counted_and_do_not_stop_the_others(
    connection: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline_batch(connection, {"minute": 0})
    pipeline_batch(connection, clear=5)
    recorder = Recorder()
    report = deliver_pending(connection, [Unreachable(), Broken(), recorder], NOW)
    assert report == DeliveryReport(delivered=2, failed=4, attempts=2 + 2 * 3 + 2 * 1)
    assert recorder.sent == [(1, "opened"), (2, "resolved")]
    stats = {s.sink: s for s in delivery_stats(connection)}
    assert (stats["unreachable"].failed, stats["unreachable"].attempts) == (2, 6)
    assert stats["unreachable"].last_error == "connection refused"
    assert stats["unreachable"].last_failed_at == NOW
    assert stats["broken"].last_error == "KeyError: 'text'"
    assert (stats["recorder"].delivered, stats["recorder"].failed, stats["recorder"].pending) == (2, 0, 0)
    assert "alert notification 1 to unreachable failed: connection refused" in caplog.text
    # given up for good: not sent again, and the alert is still in its table
    assert deliver_pending(connection, [Unreachable(), recorder], NOW) == DeliveryReport()
    assert connection.execute("SELECT status FROM alerts").fetchall() == [("resolved",)]


def test_pending_is_counted_per_sink(connection: duckdb.DuckDBPyConnection) -> None:
    pipeline_batch(connection, {"minute": 0})
    deliver_pending(connection, [Recorder()], NOW)
    pipeline_batch(connection, clear=5)
    [stats] = delivery_stats(connection)
    assert (stats.sink, stats.delivered, stats.pending) == ("recorder", 1, 1)


def test_sinks_need_distinct_names(connection: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(AlertError, match="distinct names"):
        deliver_pending(connection, [Recorder(), Recorder()], NOW)


def test_the_log_sink_logs_one_line_per_change(
    connection: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline_batch(connection, {"minute": 0, "severity": "critical", "description": "revenue 90% below"})
    pipeline_batch(connection, clear=5)
    with caplog.at_level(logging.INFO, logger="shopstream.alerts"):
        deliver_pending(connection, [LogSink()], NOW)
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "shopstream.alerts"]
    assert [level for level, _ in records] == ["ERROR", "INFO"]
    assert records[0][1].startswith("alert [CRITICAL] revenue_drop (all) opened: revenue 90% below")
    assert "resolved (the condition cleared)" in records[1][1]


def test_the_dispatcher_delivers_off_the_pipeline_thread(connection: duckdb.DuckDBPyConnection) -> None:
    gate = threading.Event()
    slow = Recorder("slow", gate=gate)
    with Dispatcher(connection, [slow], poll_seconds=60) as dispatcher:
        pipeline_batch(connection, {"minute": 0})
        dispatcher.notify()
        assert slow.entered.wait(timeout=30)  # the dispatcher is stuck in the sink ...
        pipeline_batch(connection, {"minute": 5, "severity": "high"})  # ... and the pipeline goes on
        dispatcher.notify()
        assert slow.sent == []
        gate.set()
        assert dispatcher.flush(timeout=30)
        assert slow.sent == [(1, "opened"), (2, "escalated")]
        assert dispatcher.report == DeliveryReport(delivered=2, attempts=2)
    assert not dispatcher.flush(timeout=30)  # stopped
    assert [(s.sink, s.delivered) for s in delivery_stats(connection)] == [("slow", 2)]


def test_the_dispatcher_outlives_a_failing_round(connection: duckdb.DuckDBPyConnection) -> None:
    pipeline_batch(connection, {"minute": 0})
    with Dispatcher(connection, [Recorder(), Recorder()], poll_seconds=60) as dispatcher:
        assert dispatcher.flush(timeout=30)
        assert dispatcher.flush(timeout=30)
        assert dispatcher.errors >= 2


def test_sinks_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [s.name for s in sinks_from_settings(load_settings().alerts)] == ["log"]
    monkeypatch.setenv("SHOPSTREAM_ALERTS__WEBHOOK_URL", "https://hooks.example.com/T1")
    monkeypatch.setenv("SHOPSTREAM_ALERTS__WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("SHOPSTREAM_ALERTS__MIN_SEVERITY", "high")
    settings = load_settings().alerts
    assert "s3cret" not in repr(settings)
    _log, webhook = sinks_from_settings(settings)
    assert (webhook.name, webhook.min_severity) == ("webhook", Severity.HIGH)
