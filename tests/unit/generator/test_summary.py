"""The demo's headline numbers, checked against a tiny shop whose numbers are counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopstream.events.contract import EVENTS_SCHEMA
from shopstream.generator.summary import SummaryError, read_generated, summarize

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _event(
    n: int, event_type: str, session_id: str | None, channel: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": f"e{n}",
        "event_type": event_type,
        "event_ts": START + timedelta(minutes=n),
        "schema_version": 1,
        "session_id": session_id,
        "channel": channel,
        **extra,
    }


def tiny_shop() -> pa.Table:
    """Four sessions: s1 (web) buys, s2 (app) abandons its cart, s3 (web) bounces, s4 (pos) buys at a till.

    Plus one catalogue update that belongs to no session.
    """
    rows = [
        _event(0, "page_view", "s1", "web", page="/"),
        _event(1, "add_to_cart", "s1", "web", product_id="P1", quantity=2),
        _event(2, "purchase", "s1", "web", order_id="o1", order_total=Decimal("30.00")),
        _event(3, "product_view", "s2", "app", product_id="P2"),
        _event(4, "add_to_cart", "s2", "app", product_id="P2", quantity=1),
        _event(5, "page_view", "s3", "web", page="/deals"),
        _event(6, "purchase", "s4", "pos", order_id="o2", order_total=Decimal("10.00"), store_id="S01"),
        _event(7, "product_updated", None, None, product_id="P1", price=Decimal("15.00"), inventory=4),
    ]
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)


LABELS = pa.table({"event_id": ["e1", "e4", "e6"], "kind": ["price_spike", "bot_session", "price_spike"]})


def test_counts_events_sessions_and_orders() -> None:
    summary = summarize(tiny_shop())

    assert summary.events == 8
    assert summary.events_by_type == {
        "add_to_cart": 2,
        "page_view": 2,
        "purchase": 2,
        "product_updated": 1,
        "product_view": 1,
    }
    assert (summary.sessions, summary.online_sessions, summary.cart_sessions) == (4, 3, 2)
    assert (summary.orders, summary.revenue, summary.average_order_value) == (2, 40.0, 20.0)


def test_rates_are_measured_on_online_sessions() -> None:
    summary = summarize(tiny_shop())

    # s1 of the visits s1, s2, s3 bought; the till sale s4 is not a visit
    assert summary.conversion_rate == pytest.approx(1 / 3)
    assert summary.cart_abandonment_rate == pytest.approx(1 / 2)  # s2 of the carts s1, s2


def test_event_time_span_is_utc() -> None:
    summary = summarize(tiny_shop())

    assert summary.first_ts == START
    assert summary.last_ts == START + timedelta(minutes=7)
    assert summary.first_ts is not None
    assert summary.first_ts.utcoffset() == timedelta(0)


def test_anomalies_are_counted_by_kind_only_when_labels_are_given() -> None:
    assert summarize(tiny_shop(), LABELS).anomalies_by_kind == {"price_spike": 2, "bot_session": 1}
    assert summarize(tiny_shop()).anomalies_by_kind == {}


def test_an_empty_shop_has_zeros_not_errors() -> None:
    summary = summarize(EVENTS_SCHEMA.empty_table())

    assert (summary.events, summary.sessions, summary.orders, summary.revenue) == (0, 0, 0, 0.0)
    assert (summary.conversion_rate, summary.cart_abandonment_rate, summary.average_order_value) == (0, 0, 0)
    assert (summary.first_ts, summary.last_ts, summary.events_by_type) == (None, None, {})


def test_read_generated_tells_labels_from_events_and_skips_entities(tmp_path: Path) -> None:
    shop = tiny_shop()
    pq.write_table(shop.slice(0, 5), tmp_path / "events-0.parquet")
    pq.write_table(shop.slice(5), tmp_path / "events-1.parquet")
    pq.write_table(LABELS, tmp_path / "anomalies.parquet")
    pq.write_table(pa.table({"product_id": ["P1"], "category": ["toys"]}), tmp_path / "products.parquet")
    (tmp_path / "notes.txt").write_text("not data")

    events, labels = read_generated(sorted(tmp_path.iterdir()))

    assert events.num_rows == 8
    assert labels is not None
    assert labels.num_rows == 3
    assert summarize(events, labels) == summarize(shop, LABELS)


def test_read_generated_without_parquet_events_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("{}\n")

    with pytest.raises(SummaryError, match="generate with --format parquet"):
        read_generated([tmp_path / "events.jsonl"])
