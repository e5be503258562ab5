"""The landing zone: accepted events as Parquet files beside the database.

Writing wide rows into a file-backed DuckDB table is what bounds ingestion (DESIGN.md
§8: a 36-column events table took ~1.4 s per million rows to insert and commit, more
than decoding and validating them). So each batch's accepted events are written as
one Parquet file into the landing directory, ``<db>.events/`` beside a database file
(a temporary directory for an in-memory store), and the view ``events`` reads them.

**How a file joins the store.** Inside the batch's transaction the file is written
and flushed to disk, listed in ``event_files``, and ``events`` is redefined over
exactly the listed files; the commit makes all three visible together, with the
batch's ledger row. A file whose transaction did not commit is listed nowhere and
is deleted the next time the store is opened (:func:`attach`), so a crash neither
loses nor doubles a batch.

**Compaction.** Many small batches (a live stream) would leave many small files. Once
``compact_files`` files each hold fewer than ``compact_below`` events, they are merged
into one (:func:`compact`): the merged file replaces them in ``event_files`` and in
the view in one transaction; the replaced files are deleted at the next compaction or
open, so a reader still scanning them is not cut short.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shopstream.events.contract import EVENT_COLUMNS
from shopstream.ingest import store
from shopstream.ingest.decode import literals, quote, sql_type

SUFFIX = ".events"
"""The landing directory of ``shop.duckdb`` is ``shop.duckdb.events``."""


def attach(connection: duckdb.DuckDBPyConnection, db: str) -> Path:
    """Give the store opened from ``db`` its landing directory, forget files no commit
    listed, and define ``events`` over the listed ones. Returns the directory."""
    if db == ":memory:":
        directory = Path(tempfile.mkdtemp(prefix="shopstream-events-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    else:
        directory = Path(db).resolve().with_name(Path(db).name + SUFFIX)
        directory.mkdir(exist_ok=True)
    connection.execute("CREATE OR REPLACE TABLE landing AS SELECT ?::VARCHAR AS directory", [str(directory)])
    connection.execute("SET parquet_metadata_cache = true")  # every query of events reads the same files
    _adopt_table(connection, directory)
    _remove_unlisted(connection, directory)
    _define_view(connection, directory)
    return directory


def directory_of(connection: duckdb.DuckDBPyConnection) -> Path:
    """The landing directory of the store ``connection`` opened."""
    return Path(connection.execute("SELECT directory FROM landing").fetchall()[0][0])


@dataclass
class Landing:
    """A batch's file, written on a thread while the rest of its transaction runs."""

    directory: Path
    name: str
    batch_id: int
    events: int
    written: Future[None] | None

    def finish(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Wait for the file, list it and redefine ``events``: the caller's transaction
        commits them."""
        if self.written is None:
            return
        self.written.result()
        connection.execute(
            "INSERT INTO event_files VALUES (?, ?, ?)", [self.name, self.batch_id, self.events]
        )
        _define_view(connection, self.directory)


_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopstream-landing")


def land(connection: duckdb.DuckDBPyConnection, events: pa.Table, batch_id: int) -> Landing:
    """Start writing ``events`` (accepted, in the contract's columns) as the batch's
    file; :meth:`Landing.finish` completes it inside the batch's transaction."""
    name = f"batch-{batch_id:012d}.parquet"
    directory = directory_of(connection)
    written = _WRITER.submit(_write, events, directory / name) if events.num_rows else None
    return Landing(directory, name, batch_id, events.num_rows, written)


def compact(connection: duckdb.DuckDBPyConnection, compact_files: int, compact_below: int) -> int:
    """Merge the small files once there are ``compact_files`` of them; returns files merged.

    Runs in its own transaction, between batches.
    """
    files = [
        row[0]
        for row in connection.execute(
            "SELECT file FROM event_files WHERE events < ? ORDER BY file", [compact_below]
        ).fetchall()
    ]
    if len(files) < compact_files:
        return 0
    directory = directory_of(connection)
    _remove_unlisted(connection, directory)  # what the last compaction replaced
    merged = f"merged-{files[0].removesuffix('.parquet')}-{len(files)}.parquet"
    table = connection.sql(f"SELECT * FROM read_parquet({_paths(directory, files)})").to_arrow_table()
    _write(table, directory / merged)
    with store.transaction(connection):
        connection.execute("DELETE FROM event_files WHERE list_contains(?, file)", [files])
        connection.execute("INSERT INTO event_files VALUES (?, NULL, ?)", [merged, table.num_rows])
        _define_view(connection, directory)
    return len(files)


_STATISTICS = [
    c.name
    for c in EVENT_COLUMNS
    if pa.types.is_temporal(c.type)
    or pa.types.is_integer(c.type)
    or pa.types.is_floating(c.type)
    or pa.types.is_decimal(c.type)
]
"""Columns whose min/max each file records, for readers to skip files and row groups by
time or amount; text columns get none (costly to write, of no use to skip by)."""
_DICTIONARY = [c.name for c in EVENT_COLUMNS if pa.types.is_dictionary(c.type)]
"""Columns written dictionary-encoded: the contract's categories. Ids and names have too
many values for a dictionary to pay (1M events: 0.09 CPU-s less to write, 8% bigger)."""


def _write(table: pa.Table, path: Path) -> None:
    """``table`` as a Parquet file at ``path``, on disk before this returns."""
    with path.open("wb") as handle:
        pq.write_table(
            table, handle, compression="snappy", use_dictionary=_DICTIONARY, write_statistics=_STATISTICS
        )
        handle.flush()
        os.fsync(handle.fileno())


def _listed(connection: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in connection.execute("SELECT file FROM event_files ORDER BY file").fetchall()]


def _paths(directory: Path, files: list[str]) -> str:
    """A SQL list literal of the files' paths."""
    return f"[{literals(str(directory / f) for f in files)}]"


def _define_view(connection: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """``events`` over the listed files (an empty relation of the contract's types if none)."""
    files = _listed(connection)
    if files:
        body = f"SELECT * FROM read_parquet({_paths(directory, files)})"
    else:
        columns = ", ".join(f"NULL::{sql_type(c.type)} AS {quote(c.name)}" for c in EVENT_COLUMNS)
        body = f"SELECT {columns} WHERE false"
    connection.execute(f"CREATE OR REPLACE VIEW events AS {body}")


def _adopt_table(connection: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """A store written before the landing zone kept ``events`` as a table: land its rows
    as one file and drop it, in one transaction."""
    tables = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'events' AND schema_name = 'main'"
    if not connection.execute(tables).fetchall()[0][0]:
        return
    with store.transaction(connection):
        table = connection.sql("SELECT * FROM events").to_arrow_table()
        if table.num_rows:
            name = "batch-000000000000.parquet"
            _write(table, directory / name)
            connection.execute("INSERT INTO event_files VALUES (?, NULL, ?)", [name, table.num_rows])
        connection.execute("DROP TABLE events")


def _remove_unlisted(connection: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """Delete the directory's Parquet files that no committed transaction lists."""
    listed = set(_listed(connection))
    for path in directory.glob("*.parquet"):
        if path.name not in listed:
            path.unlink(missing_ok=True)
