"""Validation rules: why a record is refused, decided for a whole batch at once.

Every refused record gets exactly one :class:`Reason`, the first that applies in the
order of :data:`REASONS` (a record that does not parse cannot be checked further;
a missing field hides range checks on it). :func:`event_problems` applies the
contract's rules (:func:`shopstream.events.violations`) and the integrity rules
that need a clock to a typed batch with ``pyarrow.compute``: no Python loop per event.

Suspicious but valid data (huge quantities, price spikes, bots) is not refused
here; the stream's detectors flag it.

>>> Reason.MISSING_FIELD < Reason.UNKNOWN_PRODUCT  # string order is not precedence
True
>>> RANK[Reason.MALFORMED_RECORD] < RANK[Reason.MISSING_FIELD] < RANK[Reason.UNKNOWN_PRODUCT]
True
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.conformance import Violation, violations


class Reason(StrEnum):
    """The closed set of reasons a record is quarantined, in order of precedence."""

    MALFORMED_RECORD = "malformed_record"
    WRONG_TYPE = "wrong_type"
    UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    MISSING_FIELD = "missing_field"
    INVALID_VALUE = "invalid_value"
    NON_POSITIVE_PRICE = "non_positive_price"
    NEGATIVE_INVENTORY = "negative_inventory"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    INVALID_ITEM = "invalid_item"
    EMPTY_ITEMS = "empty_items"
    INCONSISTENT_TOTAL = "inconsistent_total"
    OUT_OF_RANGE = "out_of_range"
    FUTURE_TIMESTAMP = "future_timestamp"
    FUTURE_REGISTRATION = "future_registration"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_CUSTOMER = "unknown_customer"


REASONS = tuple(Reason)
RANK = {reason: rank for rank, reason in enumerate(REASONS)}
HELD = frozenset({Reason.UNKNOWN_PRODUCT, Reason.UNKNOWN_CUSTOMER})
"""Reasons that clear by themselves: the record is retried when its dimension arrives."""

MESSAGES: dict[Reason, str] = {
    Reason.MALFORMED_RECORD: "the record does not parse (truncated, not a JSON object, or a bad CSV row)",
    Reason.WRONG_TYPE: "{field} has a value of the wrong type",
    Reason.UNPARSABLE_TIMESTAMP: "{field} is not a timestamp shopstream can read (use ISO 8601)",
    Reason.UNKNOWN_EVENT_TYPE: "event_type is not one of the contract's event types",
    Reason.MISSING_FIELD: "{field} is required for this event type but missing",
    Reason.INVALID_VALUE: "{field} is not one of its allowed values",
    Reason.NON_POSITIVE_PRICE: "{field} must be greater than zero",
    Reason.NEGATIVE_INVENTORY: "{field} must not be negative",
    Reason.NON_POSITIVE_QUANTITY: "{field} must be greater than zero",
    Reason.INVALID_ITEM: "a line item has no product, or a quantity or price that is not positive",
    Reason.EMPTY_ITEMS: "the order has no line items",
    Reason.INCONSISTENT_TOTAL: "order_total is not the sum of quantity x unit_price over the items",
    Reason.OUT_OF_RANGE: "{field} is below its allowed minimum",
    Reason.FUTURE_TIMESTAMP: "{field} is later than the ingestion clock plus the allowed clock skew",
    Reason.FUTURE_REGISTRATION: "registered_at is later than the event that reports it",
    Reason.UNKNOWN_PRODUCT: "{field} names a product shopstream does not know (yet)",
    Reason.UNKNOWN_CUSTOMER: "{field} names a customer shopstream does not know (yet)",
}

_OUT_OF_RANGE = {
    "price": Reason.NON_POSITIVE_PRICE,
    "unit_price": Reason.NON_POSITIVE_PRICE,
    "inventory": Reason.NEGATIVE_INVENTORY,
    "quantity": Reason.NON_POSITIVE_QUANTITY,
    "items": Reason.INVALID_ITEM,
}
_VIOLATION = {
    Violation.MISSING_FIELD: Reason.MISSING_FIELD,
    Violation.UNKNOWN_EVENT_TYPE: Reason.UNKNOWN_EVENT_TYPE,
    Violation.INVALID_VALUE: Reason.INVALID_VALUE,
    Violation.EMPTY_ITEMS: Reason.EMPTY_ITEMS,
    Violation.INCONSISTENT_TOTAL: Reason.INCONSISTENT_TOTAL,
}

PROBLEMS_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("field", pa.string()),
    ]
)


def problems(row: pa.Array, reason: pa.Array, field: pa.Array) -> pa.Table:
    """A problems table (``row``, ``reason``, ``field``) from three arrays."""
    return pa.table(
        [row.cast(pa.int64()), reason.cast(pa.string()), field.cast(pa.string())], PROBLEMS_SCHEMA
    )


def _where(mask: pa.Array, reason: Reason, field: str) -> pa.Table:
    rows = pc.indices_nonzero(pc.fill_null(mask, False))
    n = len(rows)
    return problems(rows, pa.array([reason.value] * n), pa.array([field] * n))


def contract_problems(events: pa.Table) -> pa.Table:
    """The contract's rules (required fields, enums, minimums, line items) as reasons."""
    found = violations(events)
    column = found.column("column").to_numpy(zero_copy_only=False)
    violation = found.column("violation").to_numpy(zero_copy_only=False)
    reasons = np.empty(len(column), dtype=object)
    for kind, reason in _VIOLATION.items():
        reasons[violation == kind.value] = reason.value
    out_of_range = violation == Violation.OUT_OF_RANGE.value
    reasons[out_of_range] = Reason.OUT_OF_RANGE.value
    for name, reason in _OUT_OF_RANGE.items():
        reasons[out_of_range & (column == name)] = reason.value
    return problems(found.column("row"), pa.array(reasons, pa.string()), found.column("column"))


def clock_problems(events: pa.Table, now: datetime, skew: timedelta) -> pa.Table:
    """Times that cannot be true: later than the clock, or a registration after its event."""
    event_ts = events.column("event_ts")
    latest = pa.scalar(now + skew, event_ts.type)
    return pa.concat_tables(
        [
            _where(pc.greater(event_ts, latest), Reason.FUTURE_TIMESTAMP, "event_ts"),
            _where(
                pc.greater(
                    events.column("registered_at").cast(pa.int64()),
                    pc.add(event_ts.cast(pa.int64()), int(skew.total_seconds() * 1_000_000)),
                ),
                Reason.FUTURE_REGISTRATION,
                "registered_at",
            ),
        ]
    )


def first_problem(found: pa.Table, rows: int) -> tuple[pa.Array, pa.Array]:
    """Per row of the batch: the reason of its first problem by precedence, and its field.

    >>> t = problems(pa.array([1, 1, 3]), pa.array(["unknown_product", "missing_field", "wrong_type"]),
    ...              pa.array(["product_id", "session_id", "age"]))
    >>> [a.to_pylist() for a in first_problem(t, 4)]
    [[None, 'missing_field', None, 'wrong_type'], [None, 'session_id', None, 'age']]
    """
    reason = np.full(rows, None, dtype=object)
    field = np.full(rows, None, dtype=object)
    if found.num_rows:
        row = found.column("row").to_numpy()
        names = found.column("reason").to_numpy(zero_copy_only=False)
        rank = np.array([RANK[Reason(name)] for name in np.unique(names)])[
            np.searchsorted(np.unique(names), names)
        ]
        order = np.lexsort((rank, row))
        sorted_rows = row[order]
        leads = np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]
        first, keep = order[leads], sorted_rows[leads]
        reason[keep] = names[first]
        field[keep] = found.column("field").to_numpy(zero_copy_only=False)[first]
    return pa.array(reason, pa.string()), pa.array(field, pa.string())
