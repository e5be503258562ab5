"""The alert lifecycle: open → acknowledged → resolved, one live alert per type and scope.

:func:`update_alerts` folds a micro-batch's anomaly rows into the ``alerts`` table
with whole-table SQL (``sql/alert_plan.sql``), inside the caller's transaction, so
that the alerts commit or roll back with the batch that produced them. Per
``(anomaly_type, scope)`` an anomalous window updates the live (open or
acknowledged) alert or opens one; a window the detector evaluated without an
anomaly resolves it (``resolved_by = 'auto'``); a pair not evaluated is left alone.
Users :func:`acknowledge` and :func:`resolve` alerts by id.

Alert ids are the first 16 hex digits of the md5 of the type, scope, first window
start (epoch microseconds) and the alert's ordinal within its pair, joined by the
unit separator (``chr(31)``): replaying the same batches from the same state gives
the same ids and the same tables.

**Commit order of a batch's alerts** (:func:`update_alerts`; the caller commits):

1. check the anomaly and evaluated rows against their schemas;
2. plan the changes in one query (which alerts open, update, escalate, resolve);
3. update the live alerts the batch continues or resolves;
4. insert the alerts it opens;
5. append one outbox row per state change (opened, escalated, resolved), numbered
   after the outbox's last row.

Each step reads only the inputs and the state before the batch, so a batch rolled
back and run again makes the same rows.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.alerts.anomalies import conform
from shopstream.alerts.errors import AlertError, AlertResolvedError, UnknownAlertError
from shopstream.ingest import store

TABLES = ("alerts", "alert_outbox", "alert_deliveries")
AUTO = "auto"
"""``resolved_by`` of an alert resolved because its condition cleared."""


class Status(StrEnum):
    """Where an alert is in its lifecycle."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Change(StrEnum):
    """A state change of an alert: each writes one outbox row."""

    OPENED = "opened"
    ESCALATED = "escalated"  # its peak severity rose
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


STATUS_FILTERS = {
    "active": (Status.OPEN, Status.ACKNOWLEDGED),
    "open": (Status.OPEN,),
    "acknowledged": (Status.ACKNOWLEDGED,),
    "resolved": (Status.RESOLVED,),
    "all": tuple(Status),
}
"""What ``list_alerts`` (and ``shopstream alerts list --status``) accepts."""


def sql(name: str) -> str:
    """The text of ``sql/<name>.sql`` of the alerts."""
    return store.sql(name, "shopstream.alerts")


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create ``alerts``, ``alert_outbox`` and ``alert_deliveries`` where missing."""
    for table in TABLES:
        connection.execute(sql(table))


@dataclass(frozen=True)
class AlertChanges:
    """The alerts a batch changed, by id (an alert may be in several: opened and resolved)."""

    opened: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()  # live before the batch and updated or resolved by it
    escalated: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    notifications: int = 0  # outbox rows written


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _ids(plan: pa.Table, flag: str) -> tuple[str, ...]:
    return tuple(plan.filter(plan.column(flag)).column("alert_id").to_pylist())


def _append_outbox(connection: duckdb.DuckDBPyConnection, changes: pa.Table, now: datetime) -> int:
    """Append ``changes`` (alert columns, change, actor, change_order) to the outbox."""
    connection.register("_alert_changes", changes)
    try:
        connection.execute(sql("alert_outbox_insert"), {"now": now})
    finally:
        connection.unregister("_alert_changes")
    return int(changes.num_rows)


def update_alerts(
    connection: duckdb.DuckDBPyConnection, anomalies: pa.Table, evaluated: pa.Table, now: datetime
) -> AlertChanges:
    """Fold one micro-batch's ``anomalies`` into the alerts (see the module docstring).

    Runs inside the caller's open transaction and neither begins nor commits one.
    ``anomalies`` follows ``ANOMALY_SCHEMA``; ``evaluated`` (``EVALUATED_SCHEMA``)
    names the ``(anomaly_type, scope, window_end)`` the detectors evaluated, anomaly
    rows counting as evaluated whether listed or not.
    """
    now = _utc(now)
    inputs = {
        "_alert_anomalies": conform(anomalies, "ANOMALY_SCHEMA"),
        "_alert_evaluated": conform(evaluated, "EVALUATED_SCHEMA"),
    }
    for name, table in inputs.items():
        connection.register(name, table)
    try:
        plan = connection.sql(sql("alert_plan"), params={"now": now}).to_arrow_table()
    finally:
        for name in inputs:
            connection.unregister(name)
    if not plan.num_rows:
        return AlertChanges()
    connection.register("_alert_plan", plan)
    try:
        connection.execute(sql("alert_update"))
        connection.execute(sql("alert_insert"))
        changes = connection.sql(sql("alert_plan_changes")).to_arrow_table()
    finally:
        connection.unregister("_alert_plan")
    notifications = _append_outbox(connection, changes, now)
    return AlertChanges(
        opened=_ids(plan, "opened"),
        updated=tuple(plan.filter(pc.invert(plan.column("opened"))).column("alert_id").to_pylist()),
        escalated=_ids(plan, "escalated"),
        resolved=_ids(plan, "resolves"),
        notifications=notifications,
    )


def find_alert(connection: duckdb.DuckDBPyConnection, alert_id: str) -> dict[str, Any]:
    """One alert as a dict of its columns."""
    found = connection.sql("SELECT * FROM alerts WHERE alert_id = ?", params=[alert_id]).to_arrow_table()
    if not found.num_rows:
        raise UnknownAlertError(f"no alert {alert_id!r}; `shopstream alerts list --status all` shows the ids")
    alert: dict[str, Any] = found.to_pylist()[0]
    return alert


def _user(by: str | None) -> str:
    user = (by or "").strip() or getpass.getuser()
    if user == AUTO:
        raise AlertError(f"{AUTO!r} marks alerts resolved automatically; give your own name with --by")
    return user


def _change_by_user(
    connection: duckdb.DuckDBPyConnection,
    alert_id: str,
    change: Change,
    by: str | None,
    now: datetime | None,
) -> dict[str, Any]:
    """Acknowledge or resolve ``alert_id`` in one transaction, with its outbox row."""
    user = _user(by)
    stamp = _utc(now or datetime.now(UTC))
    with store.transaction(connection):
        alert = find_alert(connection, alert_id)
        if alert["status"] == Status.RESOLVED:
            raise AlertResolvedError(
                f"alert {alert_id} was resolved by {alert['resolved_by']} at "
                f"{alert['resolved_at']:%Y-%m-%d %H:%M} UTC; nothing to do (a recurrence opens a new alert)"
            )
        if change is Change.ACKNOWLEDGED and alert["status"] == Status.ACKNOWLEDGED:
            return alert  # already acknowledged: no second notification
        statement = "alert_acknowledge" if change is Change.ACKNOWLEDGED else "alert_resolve"
        connection.execute(sql(statement), {"alert_id": alert_id, "by": user, "now": stamp})
        changes = connection.sql(
            "SELECT *, ? AS change, ? AS actor, 1 AS change_order FROM alerts WHERE alert_id = ?",
            params=[change.value, user, alert_id],
        ).to_arrow_table()
        _append_outbox(connection, changes, stamp)
    return find_alert(connection, alert_id)


def acknowledge(
    connection: duckdb.DuckDBPyConnection, alert_id: str, by: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Mark an open alert as looked at by ``by`` (default: the OS user); returns the alert.

    Runs its own transaction (call it with none open). Acknowledging an acknowledged
    alert changes nothing; a resolved one raises :class:`AlertResolvedError`.
    """
    return _change_by_user(connection, alert_id, Change.ACKNOWLEDGED, by, now)


def resolve(
    connection: duckdb.DuckDBPyConnection, alert_id: str, by: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Resolve a live alert by hand (``resolved_by = by``); returns the alert.

    Runs its own transaction (call it with none open). If the condition still holds,
    the next anomalous window opens a new alert.
    """
    return _change_by_user(connection, alert_id, Change.RESOLVED, by, now)


def list_alerts(connection: duckdb.DuckDBPyConnection, status: str = "active", limit: int = 100) -> pa.Table:
    """The alerts in ``status`` (a key of :data:`STATUS_FILTERS`), most recently updated first."""
    if status not in STATUS_FILTERS:
        raise AlertError(f"unknown status {status!r}; use one of: {', '.join(STATUS_FILTERS)}")
    return connection.sql(
        "SELECT * FROM alerts WHERE list_contains(?, status) "
        "ORDER BY updated_at DESC, last_window_end DESC, alert_id LIMIT ?",
        params=[[str(s) for s in STATUS_FILTERS[status]], int(limit)],
    ).to_arrow_table()
