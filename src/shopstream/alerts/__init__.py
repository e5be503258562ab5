"""Alerts: the lifecycle of alerts raised by the stream's detectors, and their sinks.

Detectors hand anomaly rows (:data:`ANOMALY_SCHEMA`) to :func:`update_alerts`,
which keeps one live alert per ``(anomaly_type, scope)`` — opened, updated while
the condition holds, resolved when it clears — and writes every state change to
an outbox in the same transaction. :func:`deliver_pending` and the background
:class:`Dispatcher` send the outbox to the sinks (:class:`LogSink`,
:class:`WebhookSink`); a failing sink is counted (:func:`delivery_stats`), never
allowed to stop the pipeline. Details: ``docs/alerts.md``.
"""

from shopstream.alerts.anomalies import ANOMALY_SCHEMA, EVALUATED_SCHEMA, Severity, empty_evaluated
from shopstream.alerts.dispatch import DeliveryReport, Dispatcher, SinkStats, deliver_pending, delivery_stats
from shopstream.alerts.errors import (
    AlertError,
    AlertResolvedError,
    AnomalyRowsError,
    DeliveryError,
    UnknownAlertError,
)
from shopstream.alerts.lifecycle import (
    AlertChanges,
    Change,
    Status,
    acknowledge,
    create_tables,
    find_alert,
    list_alerts,
    resolve,
    update_alerts,
)
from shopstream.alerts.notification import Notification
from shopstream.alerts.signature import sign, verify_signature
from shopstream.alerts.sinks import LogSink, Sink, WebhookSink, sinks_from_settings

__all__ = [
    "ANOMALY_SCHEMA",
    "EVALUATED_SCHEMA",
    "AlertChanges",
    "AlertError",
    "AlertResolvedError",
    "AnomalyRowsError",
    "Change",
    "DeliveryError",
    "DeliveryReport",
    "Dispatcher",
    "LogSink",
    "Notification",
    "Severity",
    "Sink",
    "SinkStats",
    "Status",
    "UnknownAlertError",
    "WebhookSink",
    "acknowledge",
    "create_tables",
    "deliver_pending",
    "delivery_stats",
    "empty_evaluated",
    "find_alert",
    "list_alerts",
    "resolve",
    "sign",
    "sinks_from_settings",
    "update_alerts",
    "verify_signature",
]
