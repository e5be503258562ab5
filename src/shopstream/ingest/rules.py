"""Validation rules: why a record is refused, decided for a whole batch at once.

Every refused record gets exactly one :class:`Reason`, the first that applies in the
order of :data:`REASONS` (a record that does not parse cannot be checked further;
a missing field hides range checks on it). :func:`first_problem_sql` turns the
contract's rules (:data:`shopstream.events.conformance.RULES`), the decoding's
verdicts and the integrity rules that need a clock into one SQL pass over a decoded
batch: no Python loop per event.

Suspicious but valid data (huge quantities, price spikes, bots) is not refused
here; the stream's detectors flag it.

>>> Reason.MISSING_FIELD < Reason.UNKNOWN_PRODUCT  # string order is not precedence
True
>>> RANK[Reason.MALFORMED_RECORD] < RANK[Reason.MISSING_FIELD] < RANK[Reason.UNKNOWN_PRODUCT]
True
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from shopstream.events.conformance import RULES, Rule, Violation, with_type
from shopstream.events.contract import EVENT_COLUMNS, TIMESTAMP
from shopstream.ingest.decode import TYPE_FIELD, literals


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


def _reason(rule: Rule) -> Reason:
    """The reason a broken contract rule quarantines a record for.

    >>> _reason(Rule("price", Violation.OUT_OF_RANGE, "price <= 0")).value
    'non_positive_price'
    """
    if rule.violation is Violation.OUT_OF_RANGE:
        return _OUT_OF_RANGE.get(rule.column, Reason.OUT_OF_RANGE)
    return _VIOLATION[rule.violation]


def first_problem_sql(relation: str, now: str, skew: timedelta) -> str:
    """SQL adding to ``relation`` each record's first problem by precedence: ``_reason``
    and ``_field``, both null for a record without one.

    ``relation`` is a decoded batch (:func:`shopstream.ingest.decode.conform_sql`): the
    contract's columns, ``_malformed``, ``_type_field`` and a mapping's verdict
    (``_mapped_reason``, ``_mapped_field``), which stands whatever else is wrong: a
    refused line's other columns are not an event's. ``now`` is an SQL expression for
    the ingestion clock; times later than it by more than ``skew`` cannot be true.
    Among problems of the same reason, the first column by name is named.
    """
    times = literals(c.name for c in EVENT_COLUMNS if c.type == TIMESTAMP)
    skew_us = int(skew / timedelta(microseconds=1))
    checks = [  # (reason, field as SQL, condition)
        (Reason.MALFORMED_RECORD, "NULL", "_malformed"),
        (Reason.WRONG_TYPE, TYPE_FIELD, f"{TYPE_FIELD} NOT IN ({times})"),
        (Reason.UNPARSABLE_TIMESTAMP, TYPE_FIELD, f"{TYPE_FIELD} IN ({times})"),
        *((_reason(rule), f"'{rule.column}'", rule.condition) for rule in RULES),
        (Reason.FUTURE_TIMESTAMP, "'event_ts'", f"event_ts > {now} + INTERVAL {skew_us} MICROSECOND"),
        (
            Reason.FUTURE_REGISTRATION,
            "'registered_at'",
            f"registered_at > event_ts + INTERVAL {skew_us} MICROSECOND",
        ),
    ]
    checks.sort(key=lambda check: (RANK[check[0]], check[1]))
    rule = "CASE " + " ".join(f"WHEN {c} THEN {i}" for i, (_, _, c) in enumerate(checks, 1)) + " END"
    reasons = f"[{literals(r.value for r, _, _ in checks)}]"
    fields = "([" + ", ".join("NULL" if f == TYPE_FIELD else f for _, f, _ in checks) + "]::VARCHAR[])"
    typed = ", ".join(str(i) for i, (_, f, _) in enumerate(checks, 1) if f == TYPE_FIELD)
    return (
        f"SELECT * EXCLUDE (_rule), coalesce(_mapped_reason, {reasons}[_rule]) AS _reason, "
        f"CASE WHEN _mapped_reason IS NOT NULL THEN _mapped_field WHEN _rule IN ({typed}) THEN {TYPE_FIELD} "
        f"ELSE {fields}[_rule] END AS _field "
        f"FROM (SELECT * EXCLUDE (_type), {rule} AS _rule FROM {with_type(relation)})"
    )
