"""Which rows of an events table break the contract, and how: whole-column checks.

:func:`violations` runs every rule of :mod:`shopstream.events.contract` over a
whole Arrow table with ``pyarrow.compute`` (no Python loop per event) and returns
one row per broken rule: the row's position, the column and a :class:`Violation`.

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

from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.contract import ALL_TYPES, EVENT_COLUMNS, Column, EventType


class Violation(StrEnum):
    MISSING_FIELD = "missing_field"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_VALUE = "invalid_value"
    OUT_OF_RANGE = "out_of_range"
    EMPTY_ITEMS = "empty_items"
    INCONSISTENT_TOTAL = "inconsistent_total"


VIOLATIONS_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("column", pa.string(), nullable=False),
        pa.field("violation", pa.string(), nullable=False),
    ]
)


def _plain(array: pa.Array) -> pa.Array:
    """Dictionary-encoded columns decoded to their value type."""
    if pa.types.is_dictionary(array.type):
        return array.dictionary_decode()
    return array


def _rows(mask: pa.Array, column: str, violation: Violation) -> pa.Table:
    rows = pc.indices_nonzero(pc.fill_null(mask, False))
    n = len(rows)
    return pa.table(
        [
            rows.cast(pa.int64()),
            pa.array([column] * n, pa.string()),
            pa.array([violation.value] * n, pa.string()),
        ],
        schema=VIOLATIONS_SCHEMA,
    )


def _below_minimum(values: pa.Array, column: Column) -> pa.Array:
    assert column.minimum is not None
    if pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())
    compare = pc.less_equal if column.exclusive_minimum else pc.less
    return compare(values, pa.scalar(column.minimum, pa.float64()).cast(values.type))


def violations(events: pa.Table) -> pa.Table:
    """Every broken rule in ``events`` (a table in the contract's schema).

    Returns a table of ``row`` (position in ``events``), ``column``, ``violation``;
    rows that conform do not appear.
    """
    batch = events.combine_chunks()
    event_type = _plain(batch.column("event_type").combine_chunks())
    known_type = pc.is_in(event_type, value_set=pa.array([t.value for t in EventType]))
    parts = [
        _rows(
            pc.and_(pc.invert(known_type), pc.is_valid(event_type)),
            "event_type",
            Violation.UNKNOWN_EVENT_TYPE,
        )
    ]
    for column in EVENT_COLUMNS:
        values = _plain(batch.column(column.name).combine_chunks())
        if column.required_by == ALL_TYPES:  # the envelope: required whatever the type says
            parts.append(_rows(pc.is_null(values), column.name, Violation.MISSING_FIELD))
        elif column.required_by:
            required = pc.is_in(event_type, value_set=pa.array([t.value for t in column.required_by]))
            parts.append(_rows(pc.and_(required, pc.is_null(values)), column.name, Violation.MISSING_FIELD))
        if column.enum is not None and column.name != "event_type":
            bad = pc.invert(pc.is_in(values, value_set=pa.array(column.enum)))
            parts.append(_rows(pc.and_(bad, pc.is_valid(values)), column.name, Violation.INVALID_VALUE))
        if column.minimum is not None:
            parts.append(_rows(_below_minimum(values, column), column.name, Violation.OUT_OF_RANGE))
    parts.extend(
        _item_violations(batch.column("items").combine_chunks(), batch.column("order_total").combine_chunks())
    )
    return pa.concat_tables(parts).sort_by([("row", "ascending"), ("column", "ascending")])


def _item_violations(items: pa.Array, order_total: pa.Array) -> list[pa.Table]:
    """Line items: non-empty, positive quantity and price, and a total that adds up."""
    has_items = pc.is_valid(items)
    empty = pc.and_(has_items, pc.equal(pc.list_value_length(items), 0))
    flat = pc.list_flatten(items)
    parent = pc.list_parent_indices(items)
    quantity = flat.field("quantity")
    unit_price = flat.field("unit_price")
    bad_item = pc.or_kleene(
        pc.or_kleene(pc.less_equal(quantity, 0), pc.less_equal(unit_price.cast(pa.float64()), 0.0)),
        pc.or_kleene(pc.is_null(quantity), pc.is_null(flat.field("product_id"))),
    )
    bad_rows = pc.unique(pc.filter(parent, pc.fill_null(bad_item, True)))
    bad_mask = pc.is_in(pa.array(range(len(items)), pa.int64()), value_set=bad_rows.cast(pa.int64()))
    line_value = pc.multiply(quantity.cast(pa.float64()), unit_price.cast(pa.float64()))
    sums = pa.table({"row": parent, "value": line_value}).group_by("row").aggregate([("value", "sum")])
    totals = pc.take(order_total.cast(pa.float64()), sums.column("row"))
    off = pc.greater(pc.abs(pc.subtract(totals, sums.column("value_sum"))), 0.005 + 1e-9)
    off_rows = pc.filter(sums.column("row"), pc.fill_null(off, False))
    off_mask = pc.is_in(pa.array(range(len(items)), pa.int64()), value_set=off_rows.cast(pa.int64()))
    return [
        _rows(empty, "items", Violation.EMPTY_ITEMS),
        _rows(bad_mask, "items", Violation.OUT_OF_RANGE),
        _rows(off_mask, "order_total", Violation.INCONSISTENT_TOTAL),
    ]
