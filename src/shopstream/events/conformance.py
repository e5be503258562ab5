"""Which rows of an events table break the contract, and how: the rules as SQL.

:data:`RULES` states every rule of :mod:`shopstream.events.contract` once, as a SQL
condition over a relation with the contract's columns that is true where a row breaks
it. :func:`violations` evaluates them over a whole Arrow table in DuckDB (no Python
loop per event) and returns one row per broken rule: the row's position, the column
and a :class:`Violation`. Ingestion evaluates the same conditions inside its decoding
query (:mod:`shopstream.ingest.rules`).

>>> import pyarrow as pa
>>> from shopstream.events.contract import EVENTS_SCHEMA
>>> t = pa.Table.from_pylist(
...     [{"event_id": None, "event_type": "search", "search_query": "shoes"}],
...     schema=EVENTS_SCHEMA,
... )
>>> sorted(set(violations(t).column("column").to_pylist()))[:3]
['channel', 'country', 'event_id']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import duckdb
import numpy as np
import pyarrow as pa

from shopstream.events.contract import ALL_TYPES, EVENT_COLUMNS, EventType


class Violation(StrEnum):
    MISSING_FIELD = "missing_field"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_VALUE = "invalid_value"
    OUT_OF_RANGE = "out_of_range"
    EMPTY_ITEMS = "empty_items"
    INCONSISTENT_TOTAL = "inconsistent_total"


@dataclass(frozen=True)
class Rule:
    """One rule: ``condition`` (SQL) is true where a row breaks it on ``column``."""

    column: str
    violation: Violation
    condition: str


def quote(name: str) -> str:
    """A SQL identifier, quoted.

    >>> print(quote('a"b'))
    "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


def literals(values: Iterable[str]) -> str:
    """SQL string literals, comma-separated: the one quoting of text put into SQL.

    >>> print(literals(["a", "b'c"]))
    'a', 'b''c'
    """
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


TYPES = tuple(sorted(t.value for t in EventType))


def with_type(relation: str) -> str:
    """``relation`` with ``_type``, the place of its event type in :data:`TYPES` (null if it
    has none or an unknown one), which the rules' conditions test instead of the text."""
    return f"(SELECT *, list_position([{literals(TYPES)}], event_type) AS _type FROM {relation})"


def _of_types(types: Iterable[EventType]) -> str:
    """A condition on ``_type``: the row's event type is one of ``types``."""
    return "_type IN (" + ", ".join(str(TYPES.index(t.value) + 1) for t in sorted(types)) + ")"


def _rules() -> tuple[Rule, ...]:
    rules = [Rule("event_type", Violation.UNKNOWN_EVENT_TYPE, "_type IS NULL AND event_type IS NOT NULL")]
    for column in EVENT_COLUMNS:
        name = quote(column.name)
        if column.required_by == ALL_TYPES:  # the envelope: required whatever the type says
            rules.append(Rule(column.name, Violation.MISSING_FIELD, f"{name} IS NULL"))
        elif column.required_by:
            required = _of_types(column.required_by)
            rules.append(Rule(column.name, Violation.MISSING_FIELD, f"{name} IS NULL AND {required}"))
        if column.enum is not None and column.name != "event_type":
            rules.append(
                Rule(column.name, Violation.INVALID_VALUE, f"{name} NOT IN ({literals(column.enum)})")
            )
        if column.minimum is not None:
            below = "<=" if column.exclusive_minimum else "<"
            rules.append(Rule(column.name, Violation.OUT_OF_RANGE, f"{name} {below} {column.minimum}"))
    # line items: at least one, each with a product and a positive quantity and price,
    # and a total that adds up (to the cent: values have two decimals)
    bad_item = (
        "x IS NULL OR x.product_id IS NULL OR x.quantity IS NULL OR x.quantity <= 0"
        " OR x.unit_price IS NULL OR x.unit_price <= 0"
    )
    rules += [
        Rule("items", Violation.EMPTY_ITEMS, "len(items) = 0"),
        Rule("items", Violation.OUT_OF_RANGE, f"list_bool_or(list_transform(items, lambda x: {bad_item}))"),
        Rule(
            "order_total",
            Violation.INCONSISTENT_TOTAL,
            # DECIMAL(38, 2) lines: a big quantity times a big price must not overflow the check
            "abs(order_total - list_sum(list_transform(items,"
            " lambda x: x.quantity::DECIMAL(38, 0) * x.unit_price))) > 0.005",
        ),
    ]
    return tuple(rules)


RULES = _rules()
"""Every rule of the contract, over a relation :func:`with_type` gave ``_type``; a null
condition (a value that is absent) is not a break."""

VIOLATIONS_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("column", pa.string(), nullable=False),
        pa.field("violation", pa.string(), nullable=False),
    ]
)


def violations(events: pa.Table) -> pa.Table:
    """Every broken rule in ``events`` (a table in the contract's schema).

    Returns a table of ``row`` (position in ``events``), ``column``, ``violation``,
    ordered by row and column; rows that conform do not appear.
    """
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        rows = pa.array(np.arange(events.num_rows, dtype=np.int64))
        connection.register("_events", events.append_column("_row", rows))
        events_ = with_type("_events")
        union = " UNION ALL ".join(
            f"SELECT _row, '{rule.column}', '{rule.violation.value}' FROM {events_} WHERE {rule.condition}"
            for rule in RULES
        )
        found = connection.sql(f"SELECT * FROM ({union}) ORDER BY 1, 2").to_arrow_table()
    finally:
        connection.close()
    return pa.Table.from_arrays(found.columns, schema=VIOLATIONS_SCHEMA)
