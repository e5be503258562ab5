"""Delivery: the outbox sent to the sinks, off the pipeline's thread, every outcome recorded.

:func:`deliver_pending` sends each outbox row that a sink has not finished, oldest
first, and records one ``alert_deliveries`` row per (row, sink): ``delivered``
(with the attempts it took), ``failed`` (the sink gave up after its bounded
attempts; the error is kept) or ``skipped`` (the alert's peak severity is below the
sink's ``min_severity``). A failed row is not tried again; the alert itself is in
``alerts`` whatever its notifications did. A row is recorded only after its send,
so a crash in between sends it again on restart: delivery is at least once, and
receivers can drop repeats by ``seq``.

:class:`Dispatcher` runs :func:`deliver_pending` on a background thread with its
own cursor; the pipeline calls :meth:`Dispatcher.notify` after each commit, which
returns at once, so a slow or failing sink never holds a batch up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import duckdb

from shopstream.alerts.errors import AlertError, DeliveryError
from shopstream.alerts.lifecycle import sql
from shopstream.alerts.notification import Notification
from shopstream.alerts.sinks import Sink
from shopstream.ingest import store

LOGGER = logging.getLogger("shopstream.alerts.dispatch")


@dataclass
class DeliveryReport:
    """What a delivery round did, counted per (outbox row, sink)."""

    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    attempts: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.skipped += other.skipped
        self.attempts += other.attempts


@dataclass(frozen=True)
class SinkStats:
    """A sink's record in ``alert_deliveries`` (see ``sql/delivery_stats.sql``)."""

    sink: str
    delivered: int
    failed: int
    skipped: int
    pending: int
    attempts: int
    last_error: str | None
    last_failed_at: datetime | None


def delivery_stats(connection: duckdb.DuckDBPyConnection) -> list[SinkStats]:
    """Per sink that has handled a notification: delivered, failed, skipped, pending, attempts."""
    rows = connection.sql(sql("delivery_stats")).to_arrow_table().to_pylist()
    return [SinkStats(**row) for row in rows]


def _deliver(sink: Sink, notification: Notification) -> tuple[str, int, str | None]:
    """(outcome, attempts, error) of one notification at one sink; never raises."""
    if not notification.peak_severity.at_least(sink.min_severity):
        return "skipped", 0, None
    try:
        return "delivered", sink.send(notification), None
    except DeliveryError as error:
        return "failed", error.attempts, str(error)
    except Exception as error:  # a broken sink is a failed delivery, never a stopped pipeline
        return "failed", 1, f"{type(error).__name__}: {error}"


def deliver_pending(
    connection: duckdb.DuckDBPyConnection,
    sinks: Sequence[Sink],
    now: datetime,
    *,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Send every outbox row some sink has not finished, and record each outcome at ``now``.

    Each outcome is committed on its own (``connection`` must have no transaction
    open). With ``stop``, returns before the next row once it is set.
    """
    report = DeliveryReport()
    by_name = {sink.name: sink for sink in sinks}
    if len(by_name) != len(sinks):
        raise AlertError(f"sinks need distinct names, got {[sink.name for sink in sinks]}")
    if not sinks:
        return report
    pending = connection.sql(sql("delivery_pending"), params={"sinks": list(by_name)}).to_arrow_table()
    for row in pending.to_pylist():
        if stop is not None and stop.is_set():
            break
        notification = Notification.from_row(row)
        for name in row["sinks"]:
            outcome, attempts, error = _deliver(by_name[name], notification)
            if outcome == "failed":
                LOGGER.warning("alert notification %d to %s failed: %s", notification.seq, name, error)
            connection.execute(
                "INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, ?)",
                [notification.seq, name, outcome, attempts, error, now],
            )
            report.add(
                DeliveryReport(
                    delivered=outcome == "delivered",
                    failed=outcome == "failed",
                    skipped=outcome == "skipped",
                    attempts=attempts,
                )
            )
    return report


class Dispatcher:
    """Delivers the outbox on a background thread, woken by :meth:`notify` after each commit.

    Use as a context manager (or :meth:`start` / :meth:`stop`) around the pipeline's
    run, and stop it before closing ``connection``. It also wakes every
    ``poll_seconds`` to pick up changes made elsewhere (a user's acknowledgement).
    :attr:`report` totals what it delivered; :attr:`errors` counts rounds that failed
    outright (a database error, logged), after which it carries on.
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        sinks: Sequence[Sink],
        *,
        poll_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.connection = connection
        self.sinks = list(sinks)
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.report = DeliveryReport()
        self.errors = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._state = threading.Condition()
        self._requested = 0  # rounds asked for
        self._done = 0  # rounds asked for that have run
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> Dispatcher:
        """Start the thread (with its own cursor); it delivers what is pending at once."""
        if self._thread is not None:
            raise AlertError("this dispatcher has been started already; make a new one")
        cursor = store.cursor(self.connection)  # with the store's session settings
        self._running = True
        self._thread = threading.Thread(
            target=self._run, args=(cursor,), name="shopstream-alerts", daemon=True
        )
        self._wake.set()
        self._thread.start()
        return self

    def notify(self) -> None:
        """Ask for a delivery round; returns at once."""
        with self._state:
            self._requested += 1
        self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver what is pending now and wait for it; ``False`` if not running or out of time."""
        with self._state:
            self._requested += 1
            wanted = self._requested
        self._wake.set()
        with self._state:
            self._state.wait_for(lambda: self._done >= wanted or not self._running, timeout)
            return self._done >= wanted

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the notification being sent; what is left stays pending in the outbox."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Dispatcher:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _round(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            report = deliver_pending(cursor, self.sinks, self.clock(), stop=self._stop)
        except Exception:  # the thread must outlive a bad round; the next one tries again
            LOGGER.exception("alert delivery round failed")
            with self._state:
                self.errors += 1
            return
        with self._state:
            self.report.add(report)

    def _run(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                with self._state:
                    wanted = self._requested
                if self._stop.is_set():
                    break
                self._round(cursor)
                with self._state:
                    self._done = wanted
                    self._state.notify_all()
        finally:
            cursor.close()
            with self._state:
                self._running = False
                self._state.notify_all()
