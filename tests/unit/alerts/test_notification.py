"""What a notification says: one plain line for logs, Slack's text and the alert's fields for webhooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest

from shopstream.alerts import Change, Notification, Severity
from shopstream.settings import SettingsError, load_settings


def notification(**changes: object) -> Notification:
    values: dict[str, object] = {
        "seq": 7,
        "alert_id": "0123456789abcdef",
        "change": Change.OPENED,
        "actor": None,
        "anomaly_type": "revenue_drop",
        "scope": "category=Home & Garden",
        "status": "open",
        "severity": Severity.HIGH,
        "peak_severity": Severity.HIGH,
        "description": "revenue 45% below the 4-week baseline",
        "observed": 1020.0,
        "expected": 1850.5,
        "first_window_start": datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        "last_window_end": datetime(2026, 3, 2, 10, 5, tzinfo=UTC),
        "occurrences": 1,
        "created_at": datetime(2026, 3, 2, 10, 6, tzinfo=UTC),
    }
    values.update(changes)
    return Notification(**values)  # type: ignore[arg-type]


def test_the_summary_says_what_happened_to_which_alert() -> None:
    assert notification().summary() == (
        "[HIGH] revenue_drop (category=Home & Garden) opened: revenue 45% below the 4-week baseline "
        "(observed 1,020.00, expected 1,850.50); 2026-03-02 10:00 → 2026-03-02 10:05 UTC, "
        "1 anomalous window; alert 0123456789abcdef"
    )
    escalated = notification(change=Change.ESCALATED, peak_severity=Severity.CRITICAL, expected=None)
    assert escalated.summary().startswith(
        "[HIGH] revenue_drop (category=Home & Garden) escalated to critical:"
    )
    assert "(observed 1,020.00);" in escalated.summary()
    auto = notification(change=Change.RESOLVED, actor="auto", occurrences=3)
    assert "resolved (the condition cleared)" in auto.summary()
    assert "3 anomalous windows" in auto.summary()
    assert "acknowledged by ana:" in notification(change=Change.ACKNOWLEDGED, actor="ana").summary()
    assert "resolved by bo:" in notification(change=Change.RESOLVED, actor="bo").summary()


def test_the_webhook_payload_has_slack_text_and_the_alert() -> None:
    payload = json.loads(orjson.dumps(notification().payload()))
    assert payload["text"].startswith(
        ":rotating_light: *[HIGH] revenue_drop (category=Home &amp; Garden) opened*: revenue 45%"
    )
    assert (payload["seq"], payload["change"], payload["actor"]) == (7, "opened", None)
    assert payload["changed_at"] == "2026-03-02T10:06:00+00:00"
    assert payload["alert"] == {
        "alert_id": "0123456789abcdef",
        "anomaly_type": "revenue_drop",
        "scope": "category=Home & Garden",
        "status": "open",
        "severity": "high",
        "peak_severity": "high",
        "description": "revenue 45% below the 4-week baseline",
        "observed": 1020.0,
        "expected": 1850.5,
        "first_window_start": "2026-03-02T10:00:00+00:00",
        "last_window_end": "2026-03-02T10:05:00+00:00",
        "occurrences": 1,
    }


def test_alert_settings_refuse_a_url_that_is_not_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPSTREAM_ALERTS__WEBHOOK_URL", "file:///etc/passwd")
    with pytest.raises(SettingsError, match=r"alerts\.webhook_url .*http:// or https://"):
        load_settings()
    monkeypatch.setenv("SHOPSTREAM_ALERTS__WEBHOOK_URL", "")
    assert load_settings().alerts.webhook_url is None
    with pytest.raises(SettingsError, match=r"alerts\.min_severity"):
        load_settings(alerts={"min_severity": "urgent"})
