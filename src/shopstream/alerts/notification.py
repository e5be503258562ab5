"""A notification: one outbox row (a state change of an alert) as the sinks send it.

It carries the alert as it stood right after the change, so a message describes
that moment even when the alert has moved on by the time it is delivered. Its
:meth:`~Notification.summary` is one plain line (logs); :meth:`~Notification.payload`
is the webhook's JSON, whose ``text`` is the same line in Slack's mrkdwn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from shopstream.alerts.anomalies import Severity
from shopstream.alerts.lifecycle import AUTO, Change

SLACK_EMOJI = {
    Change.OPENED: ":rotating_light:",
    Change.ESCALATED: ":arrow_double_up:",
    Change.ACKNOWLEDGED: ":eyes:",
    Change.RESOLVED: ":white_check_mark:",
}


def slack_escape(text: str) -> str:
    """Text with the three characters Slack's mrkdwn reserves escaped.

    >>> slack_escape("category=Home & Garden <new>")
    'category=Home &amp; Garden &lt;new&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Notification:
    """One row of ``alert_outbox``: a change and the alert right after it."""

    seq: int
    alert_id: str
    change: Change
    actor: str | None
    anomaly_type: str
    scope: str
    status: str
    severity: Severity
    peak_severity: Severity
    description: str
    observed: float
    expected: float | None
    first_window_start: datetime
    last_window_end: datetime
    occurrences: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Notification:
        """A notification from an outbox row (extra keys are ignored)."""
        values = {f.name: row[f.name] for f in fields(cls)}
        for name in ("first_window_start", "last_window_end", "created_at"):
            values[name] = values[name].astimezone(UTC)
        values["change"] = Change(values["change"])
        values["severity"] = Severity(values["severity"])
        values["peak_severity"] = Severity(values["peak_severity"])
        return cls(**values)

    def _what(self) -> str:
        if self.change is Change.ESCALATED:
            return f"escalated to {self.peak_severity}"
        if self.change is Change.RESOLVED and self.actor == AUTO:
            return "resolved (the condition cleared)"
        if self.change in (Change.ACKNOWLEDGED, Change.RESOLVED):
            return f"{self.change} by {self.actor}"
        return str(self.change)

    def _detail(self) -> str:
        expected = "" if self.expected is None else f", expected {self.expected:,.2f}"
        windows = "window" if self.occurrences == 1 else "windows"
        return (
            f"{self.description} (observed {self.observed:,.2f}{expected}); "
            f"{self.first_window_start:%Y-%m-%d %H:%M} → {self.last_window_end:%Y-%m-%d %H:%M} UTC, "
            f"{self.occurrences} anomalous {windows}; alert {self.alert_id}"
        )

    def summary(self) -> str:
        """One plain line: severity, type, scope, what happened, the numbers and the id."""
        return (
            f"[{self.severity.upper()}] {self.anomaly_type} ({self.scope}) {self._what()}: {self._detail()}"
        )

    def slack_text(self) -> str:
        """The summary in Slack's mrkdwn, with an emoji for the change."""
        head = slack_escape(f"[{self.severity.upper()}] {self.anomaly_type} ({self.scope}) {self._what()}")
        return f"{SLACK_EMOJI[self.change]} *{head}*: {slack_escape(self._detail())}"

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON: Slack's ``text``, the change and the alert's fields."""
        alert = asdict(self)
        for name in ("seq", "change", "actor", "created_at"):
            alert.pop(name)
        for name in ("first_window_start", "last_window_end"):
            alert[name] = alert[name].isoformat()
        return {
            "text": self.slack_text(),
            "seq": self.seq,
            "change": str(self.change),
            "actor": self.actor,
            "changed_at": self.created_at.isoformat(),
            "alert": alert,
        }
