"""The landing zone: accepted events in Parquet files that the view ``events`` reads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from factories import CLOCK, user_tables
from shopstream.events.contract import EVENT_COLUMNS
from shopstream.ingest import FileSource, IngestError, Ingestor, connect, landing
from shopstream.ingest.decode import quote, sql_type
from shopstream.ingest.sources import PayloadSource
from shopstream.settings import IngestSettings


def _ingest(connection: duckdb.DuckDBPyConnection, path: Path, **settings: int) -> int:
    """Ingest ``path``; returns the events accepted."""
    ingest = IngestSettings(**settings)
    source = FileSource.of([path], parquet_rows=ingest.batch_rows)
    return Ingestor(connection, ingest, clock=lambda: CLOCK).run(source, "file").accepted


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.parquet"))


def test_each_batch_lands_as_one_listed_file(tmp_path: Path, feeds: dict[str, Path]) -> None:
    db = tmp_path / "shop.duckdb"
    connection = connect(db)
    accepted = _ingest(connection, feeds["parquet"], batch_rows=10_000, compact_below_events=1)
    directory = tmp_path / "shop.duckdb.events"
    assert landing.directory_of(connection) == directory
    listed = connection.sql("SELECT file, batch_id, events FROM event_files ORDER BY file").fetchall()
    assert [name for name, *_ in listed] == _files(directory)
    assert sum(events for *_, events in listed) == accepted
    assert connection.sql("SELECT count(*) FROM events").fetchall()[0][0] == accepted
    batches = connection.sql(
        "SELECT batch_id, accepted FROM ledger WHERE source = 'file' ORDER BY 1"
    ).fetchall()
    assert [(batch, events) for _, batch, events in listed] == batches
    assert len(batches) == 4


def test_events_keeps_the_contract_types_with_and_without_files(
    tmp_path: Path, feeds: dict[str, Path]
) -> None:
    expected = [(c.name, sql_type(c.type).replace("(18, 2)", "(18,2)")) for c in EVENT_COLUMNS]
    connection = connect(tmp_path / "shop.duckdb")

    def types() -> list[tuple[str, str]]:
        described = connection.sql("DESCRIBE events").fetchall()
        return [
            (name, kind.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")) for name, kind, *_ in described
        ]

    assert types() == expected
    _ingest(connection, feeds["parquet"])
    assert types() == expected


def test_a_file_whose_batch_did_not_commit_is_removed_on_open(tmp_path: Path, feeds: dict[str, Path]) -> None:
    db = tmp_path / "shop.duckdb"
    connection = connect(db)
    _ingest(connection, feeds["parquet"])
    before = user_tables(connection)
    connection.close()
    directory = tmp_path / "shop.duckdb.events"
    orphan = directory / "batch-999999999999.parquet"  # a crash after the write, before the commit
    orphan.write_bytes((directory / _files(directory)[0]).read_bytes())
    reopened = connect(db)
    assert not orphan.exists()
    assert user_tables(reopened) == before


def test_small_files_are_merged_without_changing_events(tmp_path: Path) -> None:
    connection = connect(tmp_path / "shop.duckdb")
    ingestor = Ingestor(
        connection, IngestSettings(compact_files=3, compact_below_events=3), clock=lambda: CLOCK
    )
    lines = [
        b'{"event_id": "e%d", "event_type": "product_updated", "event_ts": "2026-01-01T00:00:0%dZ",'
        b' "schema_version": 2, "product_id": "p%d", "category": "Books", "price": 5.0, "inventory": 3}'
        % (i, i, i)
        for i in range(5)
    ]
    report = ingestor.run(PayloadSource(lines), "collector")
    assert report.accepted == 5, report.by_reason
    directory = tmp_path / "shop.duckdb.events"
    listed = connection.sql("SELECT file, events FROM event_files ORDER BY file").fetchall()
    assert [events for _, events in listed] == [1, 1, 3]  # the first three merged; two since
    assert listed[2][0].startswith("merged-")
    assert sorted(connection.sql("SELECT event_id FROM events").fetchall()) == [(f"e{i}",) for i in range(5)]
    # the merged files stay until the next compaction or open: a reader may still be scanning them
    assert len(_files(directory)) == 6
    connection.close()
    connect(tmp_path / "shop.duckdb")
    assert _files(directory) == sorted(name for name, _ in listed)


def test_a_store_with_an_events_table_has_it_landed(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    old = duckdb.connect(str(db))
    old.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{quote(c.name)} {sql_type(c.type)}" for c in EVENT_COLUMNS)
    old.execute(f"CREATE TABLE events ({columns})")
    old.execute("INSERT INTO events (event_id, event_type) VALUES ('a', 'page_view'), ('b', 'search')")
    old.close()
    connection = connect(db)
    assert connection.sql("SELECT event_id FROM events ORDER BY 1").fetchall() == [("a",), ("b",)]
    assert connection.sql(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'events'"
    ).fetchall() == [("VIEW",)]


def test_an_in_memory_store_lands_in_a_directory_of_its_own() -> None:
    first, second = connect(":memory:"), connect(":memory:")
    assert landing.directory_of(first) != landing.directory_of(second)
    assert landing.directory_of(first).is_dir()


@pytest.mark.parametrize("batch_rows", [7_000])
def test_events_equal_what_a_single_batch_run_accepts(
    tmp_path: Path, feeds: dict[str, Path], batch_rows: int
) -> None:
    small, whole = connect(tmp_path / "a.duckdb"), connect(tmp_path / "b.duckdb")
    _ingest(small, feeds["parquet"], batch_rows=batch_rows, compact_files=2, compact_below_events=10_000)
    _ingest(whole, feeds["parquet"], batch_rows=1_000_000)
    assert user_tables(small)["events"] == user_tables(whole)["events"]
    assert pa.table(user_tables(small)["events"]).num_rows > 0


def test_a_bad_file_read_ahead_stops_the_run_after_the_good_ones_committed(
    tmp_path: Path, feeds: dict[str, Path]
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "zz-broken.parquet").write_bytes(b"not parquet at all")
    (feed / "events.parquet").write_bytes((feeds["parquet"] / "events.parquet").read_bytes())
    connection = connect(tmp_path / "shop.duckdb")
    with pytest.raises(IngestError, match="not a readable Parquet file"):
        _ingest(connection, feed)
    committed = connection.sql("SELECT sum(received) FROM ledger WHERE source = 'file'").fetchall()[0][0]
    assert committed == 40_000  # the good file, read before the bad one
    assert connection.sql("SELECT count(*) FROM events").fetchall()[0][0] > 0
