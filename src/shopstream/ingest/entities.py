"""Entity tables (customers, products, stores): read from files, upserted by id.

An entity file replaces the stored row of each id it holds (the warehouse keeps the
history). Its product and customer ids become known dimension keys, which releases
facts held for them. Each load is a ledger row: rows with an id are accepted, rows
without one are quarantined (``missing_field``); repeated ids after the first, and
rows equal to what is stored, are duplicates (loading a file twice changes nothing).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from shopstream.ingest.decode import quote, sql_type
from shopstream.ingest.errors import IngestError
from shopstream.ingest.sources import Entities
from shopstream.ingest.store import DIMENSION_KIND, ENTITY_COLUMNS, ENTITY_ID, first_row, transaction

_READERS = {
    "jsonl": "read_json(?, format = 'newline_delimited', union_by_name = true)",
    "csv": "read_csv(?, all_varchar = true)",
    "parquet": "read_parquet(?)",
}


def read_entities(path: Path, fmt: str) -> pa.Table:
    """An entity file as an Arrow table (types are fixed when it is upserted)."""
    connection = duckdb.connect()
    try:
        return connection.sql(f"SELECT * FROM {_READERS[fmt]}", params=[str(path)]).to_arrow_table()
    except duckdb.Error as error:
        raise IngestError(f"{path}: cannot read this entity file ({error})") from None
    finally:
        connection.close()


def upsert_entities(connection: duckdb.DuckDBPyConnection, entities: Entities, now: datetime) -> int:
    """Upsert ``entities`` into its table in one transaction; returns the rows accepted."""
    kind, table = entities.kind, entities.table
    columns = ENTITY_COLUMNS[kind]
    key = ENTITY_ID[kind]
    present = set(table.column_names)
    values = ", ".join(
        f"TRY_CAST({quote(c.name)} AS {sql_type(c.type)}) AS {quote(c.name)}"
        if c.name in present
        else f"NULL::{sql_type(c.type)} AS {quote(c.name)}"
        for c in columns
    )
    connection.register("_entities_in", table)
    try:
        with transaction(connection):
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE _entities AS SELECT {values}, "
                f"row_number() OVER (PARTITION BY {quote(key)}) AS _copy FROM _entities_in"
            )
            # rows equal to the stored ones change nothing: they count as duplicates
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT * EXCLUDE (_copy) FROM _entities "
                f"WHERE {quote(key)} IS NOT NULL AND _copy = 1 EXCEPT SELECT * FROM {kind}"
            )
            received, missing = (
                int(v)
                for v in first_row(
                    connection, f"SELECT count(*), count(*) FILTER ({quote(key)} IS NULL) FROM _entities"
                )
            )
            accepted = int(first_row(connection, "SELECT count(*) FROM _changed")[0])
            connection.execute(
                f"DELETE FROM {kind} WHERE {quote(key)} IN (SELECT {quote(key)} FROM _changed)"
            )
            connection.execute(f"INSERT INTO {kind} SELECT * FROM _changed")
            if kind in DIMENSION_KIND:
                dimension = DIMENSION_KIND[kind]
                connection.execute(
                    f"INSERT INTO dimension_keys SELECT '{dimension}', {quote(key)} FROM _entities "
                    f"WHERE {quote(key)} IS NOT NULL AND _copy = 1 "
                    f"AND {quote(key)} NOT IN (SELECT id FROM dimension_keys WHERE kind = '{dimension}')"
                )
            batch = int(first_row(connection, "SELECT coalesce(max(batch_id), 0) + 1 FROM ledger")[0])
            by_reason = {"missing_field": missing} if missing else {}
            connection.execute(
                f"""
                INSERT INTO quarantine
                SELECT left(md5(? || '#' || _row::VARCHAR), 16), 'entities', ?, _row, 1, _json,
                       md5(_json), NULL, 'missing_field', ?, NULL,
                       ? || ' is required for every entity row', NULL, ?, ?
                FROM (SELECT row_number() OVER () - 1 AS _row, to_json(e)::VARCHAR AS _json,
                             {quote(key)} AS _id
                      FROM _entities_in AS e)
                WHERE _id IS NULL AND md5(_json) NOT IN (SELECT fingerprint FROM quarantine)
                """,
                [entities.unit, entities.unit, key, key, now, batch],
            )
            if received:
                connection.execute(
                    "INSERT INTO ledger VALUES (?, 'entities', ?, 0, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        batch,
                        entities.unit,
                        received,
                        received,
                        accepted,
                        missing,
                        received - accepted - missing,
                        json.dumps(by_reason),
                        now,
                    ],
                )
    finally:
        connection.unregister("_entities_in")
    return accepted
