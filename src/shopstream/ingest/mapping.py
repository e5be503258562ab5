"""Mappings: TOML files that turn foreign data into the contract.

A mapping names the source's columns and gives, for each contract column it fills,
a DuckDB SQL expression over them (renames, casts, local date formats and time
zones with ``strptime``/``timezone``); ``[values.NAME]`` tables translate values
through ``lookup('NAME', column)``. With ``lines = true`` each source row is an
order line: rows sharing an ``event_id`` become one event whose ``items`` come from
``[items]`` and whose ``order_total`` is the sum of its lines. A line whose
quantity or price is not a positive number is quarantined on its own; a line that
repeats another of its event exactly is a duplicate. With ``derive_dimensions`` the
file defines its own products and customers (no referential check).

Mapping files are configuration written by the data team, like SQL models: their
expressions run as SQL, so review them as code. Every expression is checked when
the mapping loads, and an error names the file and the key.

Built in: ``shopstream`` (the simulator's own files: no mapping needed) and
``online_retail`` (the UCI Online Retail invoice lines; see its file).

>>> load_mapping("shopstream") is None
True
>>> load_mapping("online_retail").lines
True
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shopstream.events.contract import COLUMNS_BY_NAME
from shopstream.ingest.decode import POSITION, RAW, RECORDS, json_records_sql, quote
from shopstream.ingest.errors import MappingError
from shopstream.ingest.rules import Reason

BUILT_IN = ("shopstream", "online_retail")
ITEM_FIELDS = ("product_id", "quantity", "unit_price")


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping (see the module docstring for its keys)."""

    name: str
    source_columns: tuple[str, ...]
    columns: dict[str, str]
    items: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    lines: bool = False
    derive_dimensions: bool = False
    description: str = ""

    # -- SQL ------------------------------------------------------------------------------
    def _prepare(self, connection: duckdb.DuckDBPyConnection) -> None:
        rows = [(name, key, value) for name, table in self.values.items() for key, value in table.items()]
        connection.register(
            "_mapping_values",
            pa.table(
                {
                    "name": pa.array([r[0] for r in rows], pa.string()),
                    "key": pa.array([r[1] for r in rows], pa.string()),
                    "value": pa.array([r[2] for r in rows], pa.string()),
                }
            ),
        )
        connection.execute(
            "CREATE OR REPLACE TEMP MACRO lookup(n, k) AS "
            "(SELECT value FROM _mapping_values WHERE name = n AND key = k)"
        )

    def _source_sql(self, relation: str, kind: str, types: dict[str, pa.DataType]) -> str:
        """The source rows with text columns and their raw text (a JSON object per row)."""
        if kind == "json":
            # a replayed event of several lines is a JSON array of its rows: one row each
            rows = (
                f"SELECT {POSITION}, {RECORDS}, "
                f"unnest(CASE WHEN json_valid({RAW}) AND json_type({RAW}) = 'ARRAY' "
                f"THEN json_extract({RAW}, '$[*]')::VARCHAR[] ELSE [{RAW}] END) AS {RAW} FROM {relation}"
            )
            return json_records_sql(f"({rows})", self.source_columns, frozenset())
        present = [c for c in self.source_columns if c in types]
        pack = ", ".join(f"{quote(c)} := {quote(c)}" for c in present)
        texts = ", ".join(
            f"{quote(c)}::VARCHAR AS {quote(c)}" if c in types else f"NULL::VARCHAR AS {quote(c)}"
            for c in self.source_columns
        )
        malformed = "_malformed" if "_malformed" in types else "false"
        raw = f"coalesce({RAW}, to_json(struct_pack({pack}))::VARCHAR)" if present else RAW
        return (
            f"SELECT {POSITION}, {RECORDS}, {raw} AS {RAW}, {malformed} AS _malformed, {texts} "
            f"FROM {relation}"
        )

    def sql(self, relation: str, kind: str, types: dict[str, pa.DataType]) -> str:
        """SQL mapping ``relation`` (records of ``kind``) to contract columns and marks."""
        source = self._source_sql(relation, kind, types)
        mapped = ", ".join(f"{expr} AS {quote(name)}" for name, expr in self.columns.items())
        if not self.lines:
            return f"SELECT {POSITION}, {RAW}, {RECORDS}, _malformed, {mapped} FROM ({source})"
        item = ", ".join(f"{self.items[f]} AS _item_{f}" for f in ITEM_FIELDS)
        every = ", ".join(quote(c) for c in self.source_columns)
        names = list(self.columns)
        firsts = ", ".join(
            f"first({quote(n)} ORDER BY {POSITION}) AS {quote(n)}" for n in names if n != "event_id"
        )
        nulls = ", ".join(f"NULL AS {quote(n)}" if n == "event_id" else quote(n) for n in names)
        return f"""
        WITH source AS ({source}),
        lines AS (
            SELECT {POSITION}, {RECORDS}, {RAW}, _malformed, {mapped}, {item},
                row_number() OVER (PARTITION BY {every} ORDER BY {POSITION}) > 1 AS _repeat
            FROM source
        ),
        typed AS (
            SELECT *, TRY_CAST(_item_quantity AS INTEGER) AS _item_units,
                TRY_CAST(_item_unit_price AS DECIMAL(18, 2)) AS _item_price
            FROM lines
        ),
        judged AS (
            SELECT *,
                CASE
                    WHEN _malformed OR _repeat THEN NULL
                    WHEN _item_product_id IS NULL THEN '{Reason.MISSING_FIELD.value}'
                    WHEN _item_units IS NULL
                        OR _item_price IS NULL THEN '{Reason.WRONG_TYPE.value}'
                    WHEN _item_units <= 0 THEN '{Reason.NON_POSITIVE_QUANTITY.value}'
                    WHEN _item_price <= 0 THEN '{Reason.NON_POSITIVE_PRICE.value}'
                END AS _line_reason
            FROM typed
        )
        SELECT min({POSITION}) AS {POSITION},
            '[' || string_agg({RAW}, ',' ORDER BY {POSITION}) || ']' AS {RAW},
            sum({RECORDS}) AS {RECORDS}, false AS _malformed, NULL::VARCHAR AS _mapped_reason,
            NULL::VARCHAR AS _mapped_field, false AS _duplicate, event_id, {firsts},
            list({{'product_id': _item_product_id, 'quantity': _item_units,
                  'unit_price': _item_price}} ORDER BY {POSITION}) AS items,
            sum(_item_units::DECIMAL(38, 0) * _item_price) AS order_total  -- wide: no overflow
        FROM judged WHERE NOT _malformed AND NOT _repeat AND _line_reason IS NULL
        GROUP BY event_id
        UNION ALL BY NAME
        SELECT {POSITION}, {RAW}, {RECORDS}, _malformed, _line_reason AS _mapped_reason,
            CASE _line_reason WHEN '{Reason.NON_POSITIVE_PRICE.value}' THEN 'unit_price'
                WHEN '{Reason.MISSING_FIELD.value}' THEN 'product_id' ELSE 'quantity' END AS _mapped_field,
            _repeat AS _duplicate, {nulls}
        FROM judged WHERE _malformed OR _repeat OR _line_reason IS NOT NULL
        """

    def event_ids(self, connection: duckdb.DuckDBPyConnection, records: pa.Table) -> pa.Array:
        """The ``event_id`` each source row maps to (rows are ``columns`` records)."""
        self._prepare(connection)
        connection.register("_mapping_in", records)
        try:
            types = {f.name: f.type for f in records.schema}
            source = self._source_sql("_mapping_in", "columns", types)
            query = f"SELECT {self.columns['event_id']} AS e FROM ({source}) ORDER BY {POSITION}"
            return connection.sql(query).to_arrow_table().column("e").combine_chunks()
        finally:
            connection.unregister("_mapping_in")

    def apply(self, connection: duckdb.DuckDBPyConnection, records: pa.Table, kind: str) -> pa.Table:
        """``records`` mapped to contract columns (see :meth:`sql`), ordered by position."""
        self._prepare(connection)
        connection.register("_mapping_in", records)
        try:
            types = {f.name: f.type for f in records.schema}
            query = f"SELECT * FROM ({self.sql('_mapping_in', kind, types)}) ORDER BY {POSITION}"
            return connection.sql(query).to_arrow_table()
        except duckdb.Error as error:
            raise MappingError(f"mapping {self.name!r} failed on this input: {error}") from None
        finally:
            connection.unregister("_mapping_in")


def _check(mapping: Mapping, origin: str) -> None:
    """Every expression compiles against the source columns; the error names the key."""
    connection = duckdb.connect()
    mapping._prepare(connection)
    columns = ", ".join(f"NULL::VARCHAR AS {quote(c)}" for c in mapping.source_columns)
    keys = {f"columns.{k}": v for k, v in mapping.columns.items()} | {
        f"items.{k}": v for k, v in mapping.items.items()
    }
    for key, expression in keys.items():
        try:
            connection.execute(f"SELECT {expression} FROM (SELECT {columns}) WHERE false")
        except duckdb.Error as error:
            raise MappingError(f"{origin}: {key} = {expression!r} is not valid SQL here: {error}") from None
    connection.close()


def parse_mapping(text: str, origin: str) -> Mapping:
    """A mapping from TOML text; ``origin`` names it in error messages."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"{origin}: not valid TOML ({error})") from None
    allowed = {
        "name",
        "description",
        "source_columns",
        "columns",
        "items",
        "values",
        "lines",
        "derive_dimensions",
    }
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise MappingError(f"{origin}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    for key in ("name", "source_columns", "columns"):
        if key not in data:
            raise MappingError(f"{origin}: missing key {key!r}")
    columns = dict(data["columns"])
    bad = sorted(set(columns) - set(COLUMNS_BY_NAME))
    if bad:
        raise MappingError(f"{origin}: [columns] names {bad}, which are not contract columns")
    lines = bool(data.get("lines", False))
    items = dict(data.get("items", {}))
    if lines and (set(items) != set(ITEM_FIELDS) or "event_id" not in columns):
        raise MappingError(f"{origin}: lines = true needs [items] {list(ITEM_FIELDS)} and columns.event_id")
    mapping = Mapping(
        name=str(data["name"]),
        source_columns=tuple(str(c) for c in data["source_columns"]),
        columns={str(k): str(v) for k, v in columns.items()},
        items={str(k): str(v) for k, v in items.items()},
        values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.get("values", {}).items()},
        lines=lines,
        derive_dimensions=bool(data.get("derive_dimensions", False)),
        description=str(data.get("description", "")),
    )
    _check(mapping, origin)
    return mapping


def load_mapping(name_or_path: str) -> Mapping | None:
    """A built-in mapping by name, or a mapping file; ``shopstream`` means none is needed."""
    if name_or_path == "shopstream":
        return None
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise MappingError(f"mapping file {path} does not exist")
        return parse_mapping(path.read_text(), str(path))
    if name_or_path not in BUILT_IN:
        raise MappingError(
            f"unknown mapping {name_or_path!r}; use one of {', '.join(BUILT_IN)} or the path of a .toml file"
        )
    text = resources.files("shopstream.ingest").joinpath("mappings", f"{name_or_path}.toml").read_text()
    return parse_mapping(text, f"built-in mapping {name_or_path}")
