"""The alert lifecycle as the stream and its users drive it, against hand-computed tables."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from factories import ALERT_T0, alert_batch, alert_store, anomaly_rows, evaluated_rows
from shopstream.alerts import (
    AlertChanges,
    AlertResolvedError,
    AnomalyRowsError,
    UnknownAlertError,
    acknowledge,
    create_tables,
    empty_evaluated,
    list_alerts,
    resolve,
    update_alerts,
)


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with alert_store() as connection:
        create_tables(connection)  # idempotent
        yield connection


def batch(
    connection: duckdb.DuckDBPyConnection,
    anomalies: pa.Table,
    evaluated: pa.Table | None = None,
    minute: int = 6,
) -> AlertChanges:
    """One micro-batch committed at ALERT_T0 + ``minute``."""
    return alert_batch(connection, anomalies, evaluated, at(minute))


def at(minute: int) -> Any:
    return ALERT_T0 + timedelta(minutes=minute)


def alerts(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return (
        connection.sql("SELECT * FROM alerts ORDER BY first_window_start, alert_id")
        .to_arrow_table()
        .to_pylist()
    )


def outbox(connection: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """(seq, alert_id, change, actor, status, severity, peak_severity) of every outbox row."""
    return connection.execute(
        "SELECT seq, alert_id, change, actor, status, severity, peak_severity FROM alert_outbox ORDER BY seq"
    ).fetchall()


def expected_id(anomaly_type: str, scope: str, first_minute: int, ordinal: int) -> str:
    epoch_us = int(at(first_minute).timestamp()) * 1_000_000
    key = "\x1f".join((anomaly_type, scope, str(epoch_us), str(ordinal)))
    return hashlib.md5(key.encode()).hexdigest()[:16]


def test_a_first_anomaly_opens_an_alert(connection: duckdb.DuckDBPyConnection) -> None:
    changes = batch(connection, anomaly_rows({"observed": 40.0, "description": "revenue 60% below"}))
    alert_id = expected_id("revenue_drop", "all", 0, 1)
    assert changes == AlertChanges(opened=(alert_id,), notifications=1)
    [alert] = alerts(connection)
    assert alert == {
        "alert_id": alert_id,
        "anomaly_type": "revenue_drop",
        "scope": "all",
        "status": "open",
        "severity": "medium",
        "peak_severity": "medium",
        "description": "revenue 60% below",
        "observed": 40.0,
        "expected": 100.0,
        "first_window_start": at(0),
        "last_window_end": at(5),
        "occurrences": 1,
        "opened_at": at(6),
        "updated_at": at(6),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
    }
    assert outbox(connection) == [(1, alert_id, "opened", None, "open", "medium", "medium")]


def test_the_alert_is_updated_while_the_condition_holds(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0, "observed": 40.0}), minute=6)
    changes = batch(connection, anomaly_rows({"minute": 5, "observed": 35.0, "expected": None}), minute=11)
    alert_id = expected_id("revenue_drop", "all", 0, 1)
    assert changes == AlertChanges(updated=(alert_id,))
    [alert] = alerts(connection)
    assert (alert["alert_id"], alert["status"], alert["occurrences"]) == (alert_id, "open", 2)
    assert (alert["first_window_start"], alert["last_window_end"]) == (at(0), at(10))
    assert (alert["observed"], alert["expected"], alert["description"]) == (
        35.0,
        None,
        "revenue_drop at 35.0",
    )
    assert (alert["opened_at"], alert["updated_at"]) == (at(6), at(11))
    assert len(outbox(connection)) == 1  # holding is not a state change


def test_a_higher_severity_escalates_once_and_the_peak_is_kept(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0, "severity": "medium"}), minute=6)
    escalated = batch(connection, anomaly_rows({"minute": 5, "severity": "critical"}), minute=11)
    calmer = batch(connection, anomaly_rows({"minute": 10, "severity": "high"}), minute=16)
    alert_id = expected_id("revenue_drop", "all", 0, 1)
    assert escalated.escalated == (alert_id,)
    assert calmer.escalated == ()
    [alert] = alerts(connection)
    assert (alert["severity"], alert["peak_severity"], alert["occurrences"]) == ("high", "critical", 3)
    assert outbox(connection) == [
        (1, alert_id, "opened", None, "open", "medium", "medium"),
        (2, alert_id, "escalated", None, "open", "critical", "critical"),
    ]


def test_an_evaluated_window_without_anomaly_resolves_the_alert(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    batch(connection, anomaly_rows({"minute": 0}), minute=6)
    changes = batch(connection, anomaly_rows(), evaluated_rows(("revenue_drop", "all", 5)), minute=11)
    alert_id = expected_id("revenue_drop", "all", 0, 1)
    assert changes == AlertChanges(updated=(alert_id,), resolved=(alert_id,), notifications=1)
    [alert] = alerts(connection)
    assert (alert["status"], alert["resolved_by"], alert["resolved_at"]) == ("resolved", "auto", at(11))
    assert (alert["last_window_end"], alert["occurrences"]) == (at(5), 1)
    assert outbox(connection)[-1] == (2, alert_id, "resolved", "auto", "resolved", "medium", "medium")


def test_an_alert_whose_pair_was_not_evaluated_stays_as_it_is(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0}), minute=6)
    before = alerts(connection)
    changes = batch(
        connection,
        anomaly_rows(),
        evaluated_rows(("traffic_spike", "all", 5), ("revenue_drop", "category=Books", 5)),
        minute=11,
    )
    assert changes == AlertChanges()
    assert alerts(connection) == before


def test_a_late_evaluation_of_an_earlier_window_clears_nothing(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0}, {"minute": 5}), minute=11)
    batch(connection, anomaly_rows(), evaluated_rows(("revenue_drop", "all", 0)), minute=12)
    assert [a["status"] for a in alerts(connection)] == ["open"]


def test_one_live_alert_per_type_and_scope(connection: duckdb.DuckDBPyConnection) -> None:
    changes = batch(
        connection,
        anomaly_rows(
            {"minute": 0, "scope": "category=Books"},
            {"minute": 0, "scope": "category=Books", "observed": 30.0},  # the same window twice
            {"minute": 0, "scope": "category=Toys"},
            {"minute": 0, "anomaly_type": "traffic_spike"},
        ),
    )
    assert len(changes.opened) == 3
    by_pair = {(a["anomaly_type"], a["scope"]): a["occurrences"] for a in alerts(connection)}
    assert by_pair == {
        ("revenue_drop", "category=Books"): 2,
        ("revenue_drop", "category=Toys"): 1,
        ("traffic_spike", "all"): 1,
    }
    # resolved, then back: a new alert with the next ordinal, never two live ones
    batch(connection, anomaly_rows(), evaluated_rows(("traffic_spike", "all", 5)), minute=11)
    again = batch(connection, anomaly_rows({"minute": 10, "anomaly_type": "traffic_spike"}), minute=16)
    assert again.opened == (expected_id("traffic_spike", "all", 10, 2),)
    live = connection.execute(
        "SELECT anomaly_type, scope, count(*) FROM alerts WHERE status <> 'resolved' "
        "GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()
    assert live == []


def test_a_batch_of_many_windows_follows_them_in_order(connection: duckdb.DuckDBPyConnection) -> None:
    # windows 0 and 5 anomalous, 10 clear, 15 anomalous, 20 not evaluated: two alerts
    changes = batch(
        connection,
        anomaly_rows({"minute": 0, "severity": "low"}, {"minute": 5, "severity": "high"}, {"minute": 15}),
        evaluated_rows(("revenue_drop", "all", 10), ("revenue_drop", "all", 15)),
        minute=21,
    )
    first, second = expected_id("revenue_drop", "all", 0, 1), expected_id("revenue_drop", "all", 15, 2)
    assert changes == AlertChanges(opened=(first, second), resolved=(first,), notifications=3)
    summary = [(a["alert_id"], a["status"], a["occurrences"], a["peak_severity"]) for a in alerts(connection)]
    assert summary == [(first, "resolved", 2, "high"), (second, "open", 1, "medium")]
    assert outbox(connection) == [
        (1, first, "opened", None, "open", "high", "high"),
        (2, first, "resolved", "auto", "resolved", "high", "high"),
        (3, second, "opened", None, "open", "medium", "medium"),
    ]


def test_a_replay_after_a_crash_makes_identical_tables(connection: duckdb.DuckDBPyConnection) -> None:
    script = [
        (
            anomaly_rows({"minute": 0}, {"minute": 0, "scope": "customer=C1", "anomaly_type": "bot_session"}),
            None,
        ),
        (
            anomaly_rows({"minute": 5, "severity": "critical"}),
            evaluated_rows(("bot_session", "customer=C1", 5)),
        ),
        (anomaly_rows(), evaluated_rows(("revenue_drop", "all", 10))),
        (anomaly_rows({"minute": 15}), None),
    ]
    for step, (anomalies, evaluated) in enumerate(script):
        batch(connection, anomalies, evaluated, minute=6 + 5 * step)

    replayed = alert_store()
    for step, (anomalies, evaluated) in enumerate(script):
        replayed.execute("BEGIN TRANSACTION")  # the first run of each batch crashes before its commit
        update_alerts(replayed, anomalies, evaluated or empty_evaluated(), at(6 + 5 * step))
        replayed.execute("ROLLBACK")
        batch(replayed, anomalies, evaluated, minute=6 + 5 * step)
    for table in ("alerts", "alert_outbox"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert replayed.sql(query).to_arrow_table() == connection.sql(query).to_arrow_table()
    replayed.close()


def test_acknowledge_then_resolve_by_hand(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0}), minute=6)
    alert_id = expected_id("revenue_drop", "all", 0, 1)
    acked = acknowledge(connection, alert_id, by="ana", now=at(7))
    assert (acked["status"], acked["acknowledged_by"], acked["acknowledged_at"]) == (
        "acknowledged",
        "ana",
        at(7),
    )
    assert acknowledge(connection, alert_id, by="bo", now=at(8))["acknowledged_by"] == "ana"  # no change
    batch(connection, anomaly_rows({"minute": 5, "severity": "high"}), minute=11)  # still live
    held = alerts(connection)[0]
    assert (held["status"], held["occurrences"], held["peak_severity"]) == ("acknowledged", 2, "high")

    done = resolve(connection, alert_id, by="bo", now=at(12))
    assert (done["status"], done["resolved_by"], done["resolved_at"]) == ("resolved", "bo", at(12))
    assert [row[2:5] for row in outbox(connection)] == [
        ("opened", None, "open"),
        ("acknowledged", "ana", "acknowledged"),
        ("escalated", None, "acknowledged"),
        ("resolved", "bo", "resolved"),
    ]
    with pytest.raises(AlertResolvedError, match="resolved by bo"):
        resolve(connection, alert_id, by="ana")
    with pytest.raises(AlertResolvedError, match="a recurrence opens a new alert"):
        acknowledge(connection, alert_id, by="ana")
    with pytest.raises(UnknownAlertError, match="shopstream alerts list --status all"):
        acknowledge(connection, "nope", by="ana")
    assert len(outbox(connection)) == 4


def test_an_acknowledged_alert_resolves_automatically_too(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0}), minute=6)
    alert_id = expected_id("revenue_drop", "all", 0, 1)
    acknowledge(connection, alert_id, by="ana", now=at(7))
    batch(connection, anomaly_rows(), evaluated_rows(("revenue_drop", "all", 5)), minute=11)
    [alert] = alerts(connection)
    assert (alert["status"], alert["acknowledged_by"], alert["resolved_by"]) == ("resolved", "ana", "auto")


def test_the_caller_owns_the_transaction(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("BEGIN TRANSACTION")
    update_alerts(connection, anomaly_rows({"minute": 0}), empty_evaluated(), at(6))
    connection.execute("ROLLBACK")  # the batch failed after its alerts were planned
    assert alerts(connection) == []
    assert outbox(connection) == []


def test_rows_that_do_not_fit_the_schema_are_refused(connection: duckdb.DuckDBPyConnection) -> None:
    rows = anomaly_rows({"minute": 0})
    with pytest.raises(AnomalyRowsError, match="lack the columns observed of ANOMALY_SCHEMA"):
        batch(connection, rows.drop_columns(["observed"]))
    bad = rows.set_column(rows.schema.get_field_index("severity"), "severity", pa.array(["urgent"]))
    with pytest.raises(AnomalyRowsError, match=r"unknown severities \['urgent'\]; use one of low, medium"):
        batch(connection, bad)
    with pytest.raises(AnomalyRowsError, match="column scope has 1 nulls"):
        batch(connection, rows.set_column(3, "scope", pa.array([None], pa.string())))
    assert alerts(connection) == []


def test_list_alerts_by_status(connection: duckdb.DuckDBPyConnection) -> None:
    batch(connection, anomaly_rows({"minute": 0}, {"minute": 0, "scope": "category=Toys"}), minute=6)
    toys = expected_id("revenue_drop", "category=Toys", 0, 1)
    acknowledge(connection, toys, by="ana", now=at(7))
    batch(connection, anomaly_rows(), evaluated_rows(("revenue_drop", "all", 5)), minute=11)

    def listed(status: str) -> list[str]:
        return list_alerts(connection, status).column("scope").to_pylist()

    assert listed("active") == listed("acknowledged") == ["category=Toys"]
    assert listed("resolved") == ["all"]
    assert listed("open") == []
    assert sorted(listed("all")) == ["all", "category=Toys"]
