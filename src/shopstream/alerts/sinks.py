"""Sinks: where notifications go. A log (Python ``logging``) and an HTTP webhook.

A :class:`Sink` has a ``name`` (its key in ``alert_deliveries``), a
``min_severity`` (notifications of alerts whose peak severity is lower are
skipped) and ``send``, which returns the attempts it took or raises
:class:`~shopstream.alerts.errors.DeliveryError` once it gives up. Sinks are
called by the dispatcher, off the pipeline's thread.

:class:`WebhookSink` POSTs :meth:`Notification.payload` as JSON (Slack's incoming
webhooks read its ``text``). Timeouts, connection errors, HTTP 408, 425, 429 and
5xx are retried with exponential backoff (``backoff_seconds`` × 2ⁿ between
attempts, ``attempts`` in all); other answers (4xx, redirects) are given up at
once. With a secret, each attempt is signed (see :mod:`shopstream.alerts.signature`).
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from typing import Protocol

import orjson

from shopstream import __version__
from shopstream.alerts.anomalies import Severity
from shopstream.alerts.errors import DeliveryError
from shopstream.alerts.lifecycle import Change
from shopstream.alerts.notification import Notification
from shopstream.alerts.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shopstream.settings import AlertSettings

LOGGER = logging.getLogger("shopstream.alerts")
RETRIED_STATUSES = frozenset({408, 425, 429})


class Sink(Protocol):
    """Where notifications are delivered."""

    @property
    def name(self) -> str:
        """The sink's key in ``alert_deliveries``; unique among the sinks of a dispatcher."""
        ...

    @property
    def min_severity(self) -> Severity:
        """Alerts whose peak severity is lower are skipped."""
        ...

    def send(self, notification: Notification) -> int:
        """Deliver ``notification``; return the attempts taken, or raise ``DeliveryError``."""
        ...


class LogSink:
    """Notifications as log records of the ``shopstream.alerts`` logger.

    Opened and escalated alerts log at WARNING (ERROR when critical), acknowledged
    and resolved ones at INFO; the payload is in the record's ``alert`` attribute.
    """

    def __init__(
        self, logger: logging.Logger = LOGGER, min_severity: Severity = Severity.LOW, name: str = "log"
    ) -> None:
        self.logger = logger
        self.min_severity = min_severity
        self.name = name

    def send(self, notification: Notification) -> int:
        level = logging.INFO
        if notification.change in (Change.OPENED, Change.ESCALATED):
            level = logging.ERROR if notification.peak_severity is Severity.CRITICAL else logging.WARNING
        self.logger.log(level, "alert %s", notification.summary(), extra={"alert": notification.payload()})
        return 1


class _RefusedError(Exception):
    """The receiver answered in a way retrying will not change."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without a body: report it instead."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class WebhookSink:
    """POST each notification as JSON to ``url``, retried with backoff, signed with ``secret``."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 5.0,
        min_severity: Severity = Severity.MEDIUM,
        name: str = "webhook",
    ) -> None:
        self.url = url
        self.secret = secret
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.min_severity = min_severity
        self.name = name
        self._opener = urllib.request.build_opener(_NoRedirects)

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> WebhookSink:
        """The webhook ``settings`` describe (``settings.webhook_url`` must be set)."""
        if settings.webhook_url is None:
            raise DeliveryError("no webhook: set alerts.webhook_url (SHOPSTREAM_ALERTS__WEBHOOK_URL)", 0)
        secret = settings.webhook_secret
        return cls(
            settings.webhook_url,
            secret=None if secret is None else secret.get_secret_value(),
            attempts=settings.attempts,
            backoff_seconds=settings.backoff_seconds,
            timeout_seconds=settings.timeout_seconds,
            min_severity=Severity(settings.min_severity),
        )

    def _request(self, body: bytes) -> urllib.request.Request:
        headers = {"Content-Type": "application/json", "User-Agent": f"shopstream/{__version__}"}
        if self.secret is not None:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self.secret, body, timestamp)
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def _post(self, body: bytes) -> None:
        """One attempt: returns on 2xx, raises ``_RefusedError`` (final) or ``OSError`` (retried)."""
        try:
            with self._opener.open(self._request(body), timeout=self.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as error:
            with error:
                answer = error.read(200).decode("utf-8", "replace").strip()
            message = f"HTTP {error.code} {error.reason}" + (f": {answer}" if answer else "")
            if error.code in RETRIED_STATUSES or error.code >= 500:
                raise OSError(message) from None
            raise _RefusedError(f"{message}; check alerts.webhook_url and the receiver") from None
        except http.client.HTTPException as error:  # a garbled or cut-off answer
            raise OSError(f"bad HTTP answer: {error!r}") from None

    def send(self, notification: Notification) -> int:
        body = orjson.dumps(notification.payload())
        last_error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                self._post(body)
            except _RefusedError as error:
                raise DeliveryError(f"webhook {self.url} refused notification: {error}", attempt) from None
            except OSError as error:  # timeouts, refused connections, 5xx
                last_error = str(error) or repr(error)
            else:
                return attempt
            if attempt < self.attempts:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise DeliveryError(
            f"webhook {self.url} failed {self.attempts} times; last: {last_error}", self.attempts
        )


def sinks_from_settings(settings: AlertSettings) -> list[Sink]:
    """The log sink, and the webhook when ``alerts.webhook_url`` is set."""
    sinks: list[Sink] = [LogSink()]
    if settings.webhook_url is not None:
        sinks.append(WebhookSink.from_settings(settings))
    return sinks
