"""The data contract: one definition per column, schemas derived from it, events checked against it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import jsonschema
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopstream.events import EVENTS_SCHEMA, EventType, json_schema, violations
from shopstream.events.contract import EVENT_COLUMNS, MONEY, REQUIRED_BY_TYPE, TIMESTAMP
from shopstream.generator import Simulator
from shopstream.settings import FunnelSettings, GeneratorSettings


def test_every_column_is_defined_once_with_explicit_types() -> None:
    names = [c.name for c in EVENT_COLUMNS]
    assert len(names) == len(set(names)) == len(EVENTS_SCHEMA)
    for name in ("unit_price", "order_total", "price", "cost"):
        assert EVENTS_SCHEMA.field(name).type == MONEY
    assert EVENTS_SCHEMA.field("quantity").type == pa.int32()
    for f in EVENTS_SCHEMA:
        if pa.types.is_timestamp(f.type):
            assert f.type == TIMESTAMP  # UTC, microseconds


PURCHASE = {
    "event_id": "e1",
    "event_type": "purchase",
    "event_ts": "2026-01-01T10:00:00Z",
    "schema_version": 1,
    "session_id": "s1",
    "channel": "web",
    "country": "GB",
    "order_id": "o1",
    "payment_method": "card",
    "currency": "GBP",
    "items": [{"product_id": "P1", "quantity": 2, "unit_price": 3.5}],
    "order_total": 7.0,
}


def test_json_schema_accepts_a_purchase_and_rejects_a_broken_one() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(PURCHASE)
    assert not validator.is_valid({**PURCHASE, "items": []})
    assert not validator.is_valid({k: v for k, v in PURCHASE.items() if k != "order_id"})
    assert not validator.is_valid({**PURCHASE, "event_type": "coupon_applied"})
    assert not validator.is_valid({**PURCHASE, "color": "red"})


def _row(**values: object) -> pa.Table:
    return pa.Table.from_pylist([values], schema=EVENTS_SCHEMA)


def test_conformance_names_the_broken_rule() -> None:
    row = {
        **PURCHASE,
        "event_ts": datetime(2026, 1, 1, tzinfo=UTC),
        "items": [{"product_id": "P1", "quantity": 2, "unit_price": Decimal("3.50")}],
        "order_total": Decimal("7.00"),
    }
    assert violations(_row(**row)).num_rows == 0
    found = violations(_row(**{**row, "order_total": Decimal("9.00"), "payment_method": "iou"})).to_pylist()
    assert {(v["column"], v["violation"]) for v in found} == {
        ("order_total", "inconsistent_total"),
        ("payment_method", "invalid_value"),
    }
    assert violations(_row(**{**row, "event_type": "coupon_applied"})).column("violation").to_pylist() == [
        "unknown_event_type"
    ]
    assert set(REQUIRED_BY_TYPE[EventType.PRODUCT_UPDATED]) >= {"product_id", "price", "inventory"}


def test_a_huge_line_is_judged_not_overflowed() -> None:
    row = {
        **PURCHASE,
        "event_ts": datetime(2026, 1, 1, tzinfo=UTC),
        "items": [{"product_id": "P1", "quantity": 100_000, "unit_price": Decimal("1000000000000.00")}],
    }
    found = violations(_row(**{**row, "order_total": Decimal("1.00")})).to_pylist()
    assert [(v["column"], v["violation"]) for v in found] == [("order_total", "inconsistent_total")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    customers=st.integers(1, 3_000),
    products=st.integers(10, 400),
    visits=st.integers(200, 20_000),
    rate=st.sampled_from([0.0, 0.01, 0.05, 0.3]),
    preset=st.sampled_from(["funnel", "flat"]),
    day=st.integers(0, 364),
)
def test_every_unlabelled_event_conforms(
    seed: int, customers: int, products: int, visits: int, rate: float, preset: str, day: int
) -> None:
    """Whatever the settings, an event without a fault label satisfies the contract."""
    generator = GeneratorSettings(
        seed=seed,
        customers=customers,
        products=products,
        sessions_per_day=visits,
        anomaly_rate=rate,
        start=datetime(2026, 1, 1, tzinfo=UTC).replace(day=1 + day % 28, month=1 + day // 31 % 12),
        funnel=FunnelSettings(preset=preset),  # type: ignore[arg-type]
    )
    for batch in Simulator(generator, text_faults=True).batches(events=3_000):
        labelled = set(batch.labels.column("position").drop_null().to_pylist())
        broken = {batch.offset + r for r in violations(batch.events).column("row").to_pylist()}
        assert broken <= labelled
