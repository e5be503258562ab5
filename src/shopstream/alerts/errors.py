"""Errors of the alerts stage: what a user asked for cannot be done, or a sink gave up.

An anomaly is not an error: it is a row that opens or updates an alert. These
exceptions are for a user naming an alert that does not exist or is already
resolved, a detector handing over rows that do not fit ``ANOMALY_SCHEMA`` (a bug),
and a sink that could not deliver (counted, never raised into the pipeline).
"""

from __future__ import annotations

from shopstream.errors import ShopstreamError


class AlertError(ShopstreamError):
    """An alert operation cannot be done as asked."""


class UnknownAlertError(AlertError):
    """No alert has the id a user gave."""


class AlertResolvedError(AlertError):
    """The alert is already resolved; a recurrence opens a new alert instead."""


class AnomalyRowsError(AlertError):
    """Anomaly or evaluated rows do not fit their schema: a bug in the detector that made them."""


class DeliveryError(AlertError):
    """A sink gave up on a notification after ``attempts`` tries."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts
