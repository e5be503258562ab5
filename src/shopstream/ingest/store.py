"""The ingestion store: the DuckDB tables ingestion writes, created from the contract.

``events`` is the view of accepted events (one column per contract column, DuckDB
types) over the Parquet files of the landing zone (:mod:`shopstream.ingest.landing`);
``customers``, ``products`` and ``stores`` the latest entity rows; ``quarantine``,
``ledger``, ``checkpoints``, ``dedupe_keys`` and ``dimension_keys`` are defined in
the ``sql/`` files next to this module. Opening a store creates what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from shopstream.events.contract import (
    CUSTOMER_COLUMNS,
    PRODUCT_COLUMNS,
    STORE_COLUMNS,
    Column,
)
from shopstream.ingest.decode import quote, sql_type
from shopstream.ingest.errors import IngestError

TABLES = ("quarantine", "ledger", "checkpoints", "dedupe_keys", "dimension_keys", "event_files")
ENTITY_COLUMNS: dict[str, tuple[Column, ...]] = {
    "customers": CUSTOMER_COLUMNS,
    "products": PRODUCT_COLUMNS,
    "stores": STORE_COLUMNS,
}
ENTITY_ID = {"customers": "customer_id", "products": "product_id", "stores": "store_id"}
DIMENSION_KIND = {"customers": "customer", "products": "product"}


@cache
def sql(name: str, package: str = "shopstream.ingest") -> str:
    """The text of ``sql/<name>.sql`` in ``package``, read once (batches run it again and again)."""
    return resources.files(package).joinpath("sql", f"{name}.sql").read_text()


def create_table(name: str, columns: tuple[Column, ...]) -> str:
    """DDL for a table with the contract's ``columns``."""
    body = ", ".join(f"{quote(c.name)} {sql_type(c.type)}" for c in columns)
    return f"CREATE TABLE IF NOT EXISTS {quote(name)} ({body})"


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store at ``path`` (``:memory:`` for a scratch store)."""
    try:
        connection = duckdb.connect(str(path))
    except duckdb.Error as error:
        raise IngestError(f"cannot open the database {path}: {error}") from None
    from shopstream.ingest import landing

    _session(connection)
    for kind, columns in ENTITY_COLUMNS.items():
        connection.execute(create_table(kind, columns))
    for table in TABLES:
        connection.execute(sql(table))
    landing.attach(connection, str(path))
    return connection


def _session(connection: duckdb.DuckDBPyConnection) -> None:
    """The settings every connection to a store runs with (each cursor is a connection)."""
    connection.execute("SET TimeZone = 'UTC'")  # text times without an offset are UTC
    # DuckDB draws a progress bar on stdout for a statement over 2 s (a loaded machine), which
    # would land inside a command's --json output: the core never prints
    connection.execute("SET enable_progress_bar = false")


def cursor(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of ``connection`` (for another thread) with the store's session settings:
    DuckDB does not carry them over."""
    made = connection.cursor()
    _session(made)
    return made


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed if the block ends, rolled back if it raises."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def first_row(
    connection: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> tuple[Any, ...]:
    """The first row of ``query`` (the whole result is fetched: DuckDB wants results finished)."""
    rows = connection.execute(query, params or []).fetchall()
    if not rows:
        raise IngestError(f"expected a row from: {query}")
    return tuple(rows[0])


def checkpoint(connection: duckdb.DuckDBPyConnection, unit: str) -> tuple[int, bool]:
    """(records committed, read to the end) for ``unit``; (0, False) if never seen."""
    rows = connection.execute("SELECT position, complete FROM checkpoints WHERE unit = ?", [unit]).fetchall()
    return (0, False) if not rows else (int(rows[0][0]), bool(rows[0][1]))


def newest_event(connection: duckdb.DuckDBPyConnection) -> datetime | None:
    """The latest event time among the dedupe keys (the horizon trails it)."""
    micros = first_row(connection, "SELECT epoch_us(max(event_ts)) FROM dedupe_keys")[0]
    return None if micros is None else datetime.fromtimestamp(micros / 1_000_000, UTC)
