"""Decoding: raw records (JSON lines, CSV rows, typed Arrow rows) into the contract's types.

A *records* table is whatever a source read, plus two bookkeeping columns:
``_position`` (the record's place in its source, for resuming and for the
quarantine) and ``_raw`` (the record's text as received; null for typed rows, whose
raw form is rebuilt as JSON only when they are quarantined). :func:`conform` casts a
records table to the contract's columns in one DuckDB statement: a value that is
present but does not cast is a ``wrong_type`` (``unparsable_timestamp`` for times),
and the first such column is named in ``_type_field``.

Text is split into lines with numpy (:func:`split_lines`) and parsed by DuckDB's JSON
reader (:func:`json_records_sql`), so no Python runs per event.

>>> split_lines(b'{"a":1}\\n{"a":2}').to_pylist()
['{"a":1}\\n', '{"a":2}']
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from shopstream.events.conformance import literals as literals  # re-exported: the one quoting of text
from shopstream.events.conformance import quote as quote  # re-exported: the one quoting of identifiers
from shopstream.events.contract import EVENT_COLUMNS, LINE_ITEM, TIMESTAMP, Column

POSITION, RAW, RECORDS, TYPE_FIELD = "_position", "_raw", "_records", "_type_field"
BOOKKEEPING = (POSITION, RAW, RECORDS)
"""Columns every records and events table carries besides the contract's."""
SOURCE_ROW = "_source_row"
"""A record's row in the table a decoding query read, passed through when present: the
query's output order is not its input's (DuckDB runs parts of it as parallel joins)."""

MARKS = {
    "_malformed": "false",
    "_mapped_reason": "NULL::VARCHAR",
    "_mapped_field": "NULL::VARCHAR",
    "_duplicate": "false",
}
"""Marks a source or mapping may set on a record (passed through, with these defaults):
it did not parse; a mapping refused it (reason, field); it repeats an earlier record."""
_ITEM_TEXT = json.dumps([{f.name: "VARCHAR" for f in LINE_ITEM}])
ITEMS_SQL_TYPE = "STRUCT(product_id VARCHAR, quantity INTEGER, unit_price DECIMAL(18, 2))[]"


def sql_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type a contract column is stored and cast as.

    >>> sql_type(pa.decimal128(18, 2)), sql_type(pa.dictionary(pa.int32(), pa.string()))
    ('DECIMAL(18, 2)', 'VARCHAR')
    """
    if pa.types.is_dictionary(arrow_type) or pa.types.is_string(arrow_type):
        return "VARCHAR"
    if arrow_type == TIMESTAMP:
        return "TIMESTAMPTZ"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_list(arrow_type):
        return ITEMS_SQL_TYPE
    names = {pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.float32(): "FLOAT"}
    return names[arrow_type]


def line_offsets(data: bytes | memoryview) -> np.ndarray:
    """Where each line of ``data`` starts, and the end: ``len(lines) + 1`` offsets.

    >>> line_offsets(b"ab\\nc").tolist()
    [0, 3, 4]
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 10) + 1
    if len(buffer) and (not len(ends) or ends[-1] != len(buffer)):
        ends = np.append(ends, len(buffer))
    return np.concatenate([[0], ends]).astype(np.int64)


def split_lines(data: bytes | memoryview) -> pa.LargeStringArray:
    """``data`` cut at newlines into one string per line (each keeps its ``\\n``).

    Lines that are not valid UTF-8 are replaced with U+FFFD characters so that the
    record can still be quarantined; a final line without a newline is kept.
    """
    offsets = line_offsets(data)
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    try:
        return lines.cast(pa.large_string())
    except pa.ArrowInvalid:
        # Rare: some line is not UTF-8. Decode line by line only on this error path.
        return pa.array([b.decode("utf-8", errors="replace") for b in lines.to_pylist()], pa.large_string())


def json_records_sql(relation: str, fields: tuple[str, ...], nested: frozenset[str]) -> str:
    """SQL reading ``fields`` from the JSON objects in ``relation._raw``.

    Every field comes out as text (``nested`` ones as JSON text) so :func:`conform`
    can tell a wrong type from a missing value; a line that is not a JSON object
    has ``_malformed`` true. The relation's own columns (bookkeeping) are kept.
    """
    structure = json.dumps({f: ("JSON" if f in nested else "VARCHAR") for f in fields})
    # valid JSON that starts with a brace is an object: a pattern is cheaper than json_type
    parsed = (
        f"CASE WHEN json_valid({RAW}) THEN CASE WHEN regexp_matches({RAW}, '^\\s*\\{{') "
        f"THEN json_transform({RAW}, '{structure}') END END"
    )
    columns = ", ".join(f"_r.{quote(f)} AS {quote(f)}" for f in fields)
    return (
        f"SELECT * EXCLUDE (_r), _r IS NULL AS _malformed, {columns} "
        f"FROM (SELECT *, {parsed} AS _r FROM {relation})"
    )


def _cast(source: str, given: pa.DataType, column: Column) -> tuple[str, bool]:
    """The value expression of one contract column, and whether the cast can fail (not
    to text, nor from the contract's own type)."""
    target = sql_type(column.type)
    if given == column.type or target == "VARCHAR":
        return f"{source}::{target}", False
    if pa.types.is_list(column.type) and (pa.types.is_string(given) or pa.types.is_large_string(given)):
        source = f"CASE WHEN json_valid({source}) THEN json_transform({source}, '{_ITEM_TEXT}') END"
    return f"TRY_CAST({source} AS {target})", True


def conform_sql(relation: str, types: Mapping[str, pa.DataType], received_ts: str) -> str:
    """SQL casting ``relation`` (columns ``types``) to the contract's columns.

    Columns the contract does not know are ignored; contract columns the records
    lack are null. ``received_ts`` is an SQL expression for the ingestion time, which
    replaces whatever the record claimed. Each column is cast once, in an inner
    select that keeps the given value of the columns whose cast can fail; the outer
    select names the first of them whose value did not cast.
    """
    inner, outer, wrong = [], [], []
    for column in EVENT_COLUMNS:
        name = quote(column.name)
        if column.name == "received_ts":
            outer.append(f"{received_ts} AS received_ts")
        elif column.name not in types:
            outer.append(f"NULL::{sql_type(column.type)} AS {name}")
        else:
            value, may_fail = _cast(name, types[column.name], column)
            outer.append(name)
            if not may_fail:
                inner.append(f"{value} AS {name}")
            else:
                given = quote(f"_given_{column.name}")
                inner.append(f"{name} AS {given}, {value} AS {name}")
                wrong.append(f"WHEN {given} IS NOT NULL AND {name} IS NULL THEN '{column.name}'")
    type_field = f"CASE {' '.join(wrong)} END" if wrong else "NULL::VARCHAR"
    passed = ", ".join(f"{name if name in types else default} AS {name}" for name, default in MARKS.items())
    kept = ", ".join((POSITION, RAW, RECORDS, *([SOURCE_ROW] if SOURCE_ROW in types else [])))
    cast = f"SELECT {kept}, {passed}, {', '.join(inner)} FROM {relation}"
    return (
        f"SELECT {kept}, {', '.join(MARKS)}, {type_field} AS {TYPE_FIELD}, {', '.join(outer)} FROM ({cast})"
    )
