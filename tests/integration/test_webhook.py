"""The webhook sink against a real HTTP server on 127.0.0.1: delivery, retries, signatures, failures."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from factories import ALERT_T0, alert_batch, alert_store, anomaly_rows
from shopstream.alerts import (
    DeliveryReport,
    Dispatcher,
    LogSink,
    Notification,
    Sink,
    WebhookSink,
    deliver_pending,
    delivery_stats,
    verify_signature,
)
from shopstream.alerts.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from shopstream.settings import AlertSettings

pytestmark = pytest.mark.integration

SECRET = "whsec-7f3a"
NOW = ALERT_T0 + timedelta(hours=1)
FAST = {"attempts": 3, "backoff_seconds": 0.001, "timeout_seconds": 10.0}


@dataclass
class Receiver:
    """The server's side: the answers it gives in turn (the last repeats) and what it received."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    secret: str | None = None  # when set, requests whose signature does not verify get 401
    gate: threading.Event | None = None  # when set, each answer waits for it
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.requests.append((headers, body))
            status = self.statuses[min(len(self.requests), len(self.statuses)) - 1]
            if self.secret is not None:
                good = verify_signature(
                    self.secret,
                    body,
                    headers.get(TIMESTAMP_HEADER),
                    headers.get(SIGNATURE_HEADER),
                    max_age_seconds=300,
                )
                self.verified.append(good)
                status = status if good else 401
        self.arrived.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=60)
        return status

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts"
    yield state
    if state.gate is not None:
        state.gate.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with alert_store() as connection:
        yield connection


def pipeline_batch(connection: duckdb.DuckDBPyConnection, **spec: object) -> None:
    alert_batch(connection, anomaly_rows(spec), None, NOW)


def webhook(receiver: Receiver, **settings: object) -> WebhookSink:
    return WebhookSink.from_settings(AlertSettings(webhook_url=receiver.url, **{**FAST, **settings}))  # type: ignore[arg-type]


def deliveries(connection: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return connection.execute(
        "SELECT seq, sink, outcome, attempts, last_error FROM alert_deliveries ORDER BY seq"
    ).fetchall()


def test_a_notification_is_posted_as_json_with_slack_text(
    connection: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    pipeline_batch(connection, severity="high", description="revenue 45% below")
    report = deliver_pending(connection, [webhook(receiver)], NOW)
    assert report == DeliveryReport(delivered=1, attempts=1)
    [(headers, _)] = receiver.requests
    assert headers["Content-Type"] == "application/json"
    assert SIGNATURE_HEADER not in headers  # no secret, no signature
    [body] = receiver.bodies()
    alert: dict[str, object] = body["alert"]  # type: ignore[assignment]
    assert body["text"] == (
        ":rotating_light: *[HIGH] revenue_drop (all) opened*: revenue 45% below (observed 40.00, "
        "expected 100.00); 2026-03-02 10:00 → 2026-03-02 10:05 UTC, 1 anomalous window; "
        f"alert {alert['alert_id']}"
    )
    assert (body["seq"], body["change"], alert["scope"], alert["severity"]) == (1, "opened", "all", "high")
    assert deliveries(connection) == [(1, "webhook", "delivered", 1, None)]


def test_a_failed_request_is_retried_and_delivered(
    connection: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    receiver.statuses = [500, 200]
    pipeline_batch(connection)
    assert deliver_pending(connection, [webhook(receiver)], NOW) == DeliveryReport(delivered=1, attempts=2)
    first, second = receiver.requests
    assert first[1] == second[1]  # the same body, sent again
    assert deliveries(connection) == [(1, "webhook", "delivered", 2, None)]


def test_the_receiver_verifies_the_signature(
    connection: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    receiver.secret = SECRET
    pipeline_batch(connection)
    deliver_pending(connection, [webhook(receiver, webhook_secret=SECRET)], NOW)
    assert receiver.verified == [True]
    headers, body = receiver.requests[0]
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert not verify_signature(SECRET, body + b" ", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])

    # a sender with the wrong secret is refused (401): given up at once, not retried
    pipeline_batch(connection, scope="category=Toys")
    impostor = WebhookSink(receiver.url, secret="guess", name="impostor", **FAST)  # type: ignore[arg-type]
    report = deliver_pending(connection, [impostor], NOW)
    assert report.failed == 2  # both notifications, one attempt each
    assert receiver.verified[1:] == [False, False]
    [stats] = [s for s in delivery_stats(connection) if s.sink == "impostor"]
    assert (stats.failed, stats.attempts) == (2, 2)
    assert stats.last_error is not None
    assert "HTTP 401" in stats.last_error


def test_a_receiver_that_always_fails_never_holds_the_pipeline(
    connection: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    receiver.gate = threading.Event()
    with Dispatcher(connection, [webhook(receiver)], poll_seconds=60) as dispatcher:
        pipeline_batch(connection, minute=0)
        dispatcher.notify()
        assert receiver.arrived.wait(timeout=30)  # the webhook hangs on its first request ...
        pipeline_batch(connection, minute=5, severity="critical")  # ... and the next batch commits
        dispatcher.notify()
        assert connection.execute("SELECT occurrences, peak_severity FROM alerts").fetchall() == [
            (2, "critical")
        ]
        receiver.gate.set()
        assert dispatcher.flush(timeout=60)
    assert dispatcher.report == DeliveryReport(failed=2, attempts=6)
    [stats] = delivery_stats(connection)
    assert (stats.sink, stats.failed, stats.attempts, stats.pending) == ("webhook", 2, 6, 0)
    assert stats.last_error is not None
    assert "failed 3 times; last: HTTP 503" in stats.last_error
    assert len(receiver.requests) == 6  # bounded: three attempts per notification


def test_an_unreachable_webhook_is_a_counted_failure(connection: duckdb.DuckDBPyConnection) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pipeline_batch(connection)
    sink = WebhookSink(f"http://127.0.0.1:{port}/", **FAST)  # type: ignore[arg-type]
    assert deliver_pending(connection, [sink], NOW) == DeliveryReport(failed=1, attempts=3)
    assert "Connection refused" in str(deliveries(connection)[0][4])


SINKS: dict[str, Callable[[Receiver], Sink]] = {
    "log": lambda receiver: LogSink(),
    "webhook": lambda receiver: webhook(receiver),
}


@pytest.mark.parametrize("kind", SINKS)
def test_every_sink_meets_the_contract(
    kind: str, connection: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    sink = SINKS[kind](receiver)
    assert isinstance(sink.name, str)
    assert sink.name
    pipeline_batch(connection, severity="critical")
    [row] = connection.sql("SELECT * FROM alert_outbox").to_arrow_table().to_pylist()
    assert sink.send(Notification.from_row(row)) >= 1
    assert deliver_pending(connection, [sink], NOW).delivered == 1
    assert deliver_pending(connection, [sink], NOW) == DeliveryReport()
