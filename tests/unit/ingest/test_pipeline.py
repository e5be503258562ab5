"""Ingestion end to end on simulated feeds: every injected fault caught, nothing lost."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factories import CLOCK, user_tables
from shopstream.generator.files import FORMATS, generate_files
from shopstream.ingest import FileSource, Ingestor, PayloadSource, SimulatorSource, connect
from shopstream.ingest.errors import LedgerError
from shopstream.ingest.pipeline import BatchLedger, IngestReport
from shopstream.ingest.quarantine import Filter, replay
from shopstream.settings import GeneratorSettings, IngestSettings

EXPECTED_REASON = {
    "missing_field": "missing_field",
    "unknown_event_type": "unknown_event_type",
    "unknown_product": "unknown_product",
    "unknown_customer": "unknown_customer",
    "wrong_type": "wrong_type",
    "unparsable_timestamp": "unparsable_timestamp",
    "truncated_json": "malformed_record",
    "negative_price": "non_positive_price",
    "negative_inventory": "negative_inventory",
    "future_registration": "future_registration",
}
"""Label kind -> the quarantine reason ingestion must give; other kinds pass ingestion."""


def _ingest(paths: list[Path], settings: IngestSettings, db: duckdb.DuckDBPyConnection | None = None):
    connection = db if db is not None else connect(":memory:")
    report = Ingestor(connection, settings, clock=lambda: CLOCK).run(FileSource.of(paths), "file")
    return connection, report


def _labels(directory: Path) -> pa.Table:
    return duckdb.connect().sql(f"SELECT * FROM '{next(directory.glob('labels.*'))}'").to_arrow_table()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_injected_fault_is_caught_with_its_reason(
    feeds: dict[str, Path], settings: IngestSettings, fmt: str
) -> None:
    connection, report = _ingest([feeds[fmt]], settings)
    labels = _labels(feeds[fmt])
    connection.register("labels", labels)
    connection.register(
        "expected", pa.table({"kind": list(EXPECTED_REASON), "reason": list(EXPECTED_REASON.values())})
    )
    caught = connection.sql(
        """
        SELECT l.kind, count(*) AS labelled, count(q.reason) FILTER (q.reason = e.reason) AS caught
        FROM labels AS l JOIN expected AS e USING (kind)
        LEFT JOIN quarantine AS q ON q.position = l.position AND q.unit LIKE '%events%'
        GROUP BY ALL ORDER BY 1
        """
    ).fetchall()
    kinds = {kind for kind, _, _ in caught}
    assert {"missing_field", "unknown_product", "unknown_customer", "unknown_event_type"} <= kinds
    if fmt != "parquet":
        assert {"wrong_type", "unparsable_timestamp", "truncated_json"} <= kinds
    assert all(labelled == n for _, labelled, n in caught), caught
    # nothing else is quarantined: every quarantine row is a labelled fault
    unexplained = connection.sql(
        "SELECT count(*) FROM quarantine q WHERE q.unit LIKE '%events%' AND q.position NOT IN "
        "(SELECT position FROM labels WHERE kind IN (SELECT kind FROM expected))"
    ).fetchall()[0][0]
    assert unexplained == 0
    duplicates = labels.filter(pa.compute.equal(labels.column("kind"), "duplicate"))
    assert report.duplicates == duplicates.num_rows > 0
    assert report.received == report.accepted + report.quarantined + report.duplicates
    once = connection.sql(
        "SELECT count(*) FROM events "
        "WHERE event_id IN (SELECT event_id FROM labels WHERE kind = 'duplicate') "
        "GROUP BY event_id HAVING count(*) <> 1"
    ).fetchall()
    assert once == []


def test_clean_simulated_data_is_all_accepted(tmp_path: Path, settings: IngestSettings) -> None:
    generate_files(
        GeneratorSettings(seed=9, anomaly_rate=0), out=tmp_path, fmt="jsonl", events=20_000, days=None
    )
    connection, report = _ingest([tmp_path], settings)
    assert report.quarantined == 0
    assert report.duplicates == 0
    assert report.accepted == report.received >= 20_000
    assert connection.sql("SELECT count(*) FROM events").fetchall()[0][0] == report.accepted


def test_ingesting_twice_changes_nothing(feeds: dict[str, Path], settings: IngestSettings) -> None:
    connection, first = _ingest([feeds["csv"]], settings)
    before = user_tables(connection)
    _, second = _ingest([feeds["csv"]], settings, connection)
    assert second.duplicates == second.received == first.received
    assert second.accepted == second.quarantined == 0
    assert user_tables(connection) == before


def test_a_fixed_rule_lets_replay_accept_quarantined_records(feeds: dict[str, Path]) -> None:
    # a clock set before the feed makes every event "in the future"
    connection = connect(":memory:")
    early = IngestSettings(clock_skew_seconds=0)
    past = CLOCK.replace(year=2025)
    source = FileSource.of([feeds["jsonl"] / "products.jsonl", feeds["jsonl"] / "customers.jsonl"])
    Ingestor(connection, early, clock=lambda: past).run(source, "file")
    lines = (feeds["jsonl"] / "events.jsonl").read_bytes().splitlines(keepends=True)[:500]
    report = Ingestor(connection, early, clock=lambda: past).run(
        PayloadSource([b"".join(lines)]), "collector"
    )
    future = report.by_reason["future_timestamp"]
    assert future > 400
    # the clock is fixed: replay the future_timestamp records
    ledger = replay(Ingestor(connection, early, clock=lambda: CLOCK), Filter(reason="future_timestamp"))
    assert ledger.received == future
    assert ledger.accepted + ledger.quarantined + ledger.duplicates == future
    assert ledger.accepted > 400
    left = connection.sql("SELECT count(*) FROM quarantine WHERE reason = 'future_timestamp'").fetchall()[0][
        0
    ]
    assert left == 0
    events = connection.sql("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall()[0]
    assert events[0] == events[1]
    # replaying again finds nothing, and re-sending the lines finds only duplicates
    assert (
        replay(Ingestor(connection, early, clock=lambda: CLOCK), Filter(reason="future_timestamp")).received
        == 0
    )
    again = Ingestor(connection, early, clock=lambda: CLOCK).run(
        PayloadSource([b"".join(lines)]), "collector"
    )
    assert again.duplicates == again.received


def test_facts_before_their_dimensions_are_held_then_released(feeds: dict[str, Path]) -> None:
    connection = connect(":memory:")
    settings = IngestSettings()
    ingestor = Ingestor(connection, settings, clock=lambda: CLOCK)
    events = ingestor.run(FileSource.of([feeds["parquet"] / "events.parquet"]), "file")
    held = events.by_reason["unknown_product"] + events.by_reason["unknown_customer"]
    assert held > events.received * 0.5  # no catalogue yet: nearly every fact is held
    dims = ingestor.run(
        FileSource.of([feeds["parquet"] / "products.parquet", feeds["parquet"] / "customers.parquet"]), "file"
    )
    assert dims.accepted > held * 0.9  # released by the replay that follows the entities
    direct, _ = _ingest([feeds["parquet"]], settings)
    assert (
        connection.sql("SELECT count(*) FROM events").fetchall()
        == direct.sql("SELECT count(*) FROM events").fetchall()
    )


def test_the_in_process_simulator_is_a_source(settings: IngestSettings) -> None:
    connection = connect(":memory:")
    source = SimulatorSource(GeneratorSettings(seed=3), events=30_000)
    report = Ingestor(connection, settings, clock=lambda: CLOCK).run(source, "simulator")
    assert report.received >= 30_000
    assert report.received == report.accepted + report.quarantined + report.duplicates
    assert report.entities == {"customers": 10_000, "products": 1_000, "stores": 24}
    ledger = connection.sql(
        "SELECT sum(received), sum(accepted + quarantined + duplicates) FROM ledger"
    ).fetchall()
    assert ledger[0][0] == ledger[0][1]


def test_an_unbalanced_ledger_stops_ingestion() -> None:
    with pytest.raises(LedgerError, match="does not balance"):
        BatchLedger("file", "f.jsonl", 0, 3, received=3, accepted=1, quarantined=1).check()


def test_reports_sum_batches_and_whole_runs() -> None:
    run = IngestReport()
    run.add(
        BatchLedger(
            "file",
            "a",
            0,
            4,
            received=4,
            accepted=2,
            quarantined=1,
            duplicates=1,
            by_reason={"missing_field": 1},
        )
    )
    run.add(
        BatchLedger("file", "a", 4, 6, received=2, accepted=1, quarantined=1, by_reason={"wrong_type": 1})
    )
    run.entities, run.resumed_units = {"products": 3}, ["a"]
    total = IngestReport(entities={"products": 1})
    total.extend(run)
    total.extend(run)
    assert total.to_dict() == {
        "batches": 4,
        "received": 12,
        "accepted": 6,
        "quarantined": 4,
        "duplicates": 2,
        "by_reason": {"missing_field": 2, "wrong_type": 2},
        "entities": {"products": 7},
        "resumed_units": ["a", "a"],
    }


def test_the_ledger_table_refuses_an_unbalanced_row() -> None:
    connection = connect(":memory:")
    with pytest.raises(duckdb.ConstraintException):
        connection.execute(
            "INSERT INTO ledger VALUES (1, 's', 'u', 0, 3, 3, 1, 1, 0, ?, now())", [json.dumps({})]
        )


def test_dedupe_keys_are_pruned_beyond_the_horizon_and_old_copies_still_caught(
    settings: IngestSettings,
) -> None:
    connection = connect(":memory:")
    short = IngestSettings(dedupe_horizon_days=1)
    source = SimulatorSource(GeneratorSettings(seed=4, anomaly_rate=0, sessions_per_day=4_000), days=4)
    first = Ingestor(connection, short, clock=lambda: CLOCK).run(source, "simulator")
    span = connection.sql("SELECT max(event_ts) - min(event_ts) FROM dedupe_keys").fetchall()[0][0]
    assert span <= timedelta(days=2)  # pruned to about one day (pruning runs once per day)
    again = Ingestor(connection, short, clock=lambda: CLOCK).run(
        SimulatorSource(GeneratorSettings(seed=4, anomaly_rate=0, sessions_per_day=4_000), days=4),
        "simulator",
    )
    assert again.duplicates == again.received == first.received


def test_parquet_pieces_round_trip(tmp_path: Path, feeds: dict[str, Path], settings: IngestSettings) -> None:
    # a Parquet file of the contract written by someone else (no entity files): held, not lost
    table = pq.read_table(feeds["parquet"] / "events.parquet").slice(0, 1_000)
    pq.write_table(table, tmp_path / "slice.parquet")
    _, report = _ingest([tmp_path / "slice.parquet"], settings)
    assert report.received == 1_000 == report.accepted + report.quarantined + report.duplicates


def test_refused_records_keep_their_own_text_when_duckdb_reorders_rows(tmp_path: Path) -> None:
    """DuckDB may return the decoding query's rows out of order (it runs parts of it as
    parallel joins: here 16 threads over one 400k-line batch); each quarantined record must
    still hold its own text, or replay would re-ingest another event."""
    path = tmp_path / "events.jsonl"
    line = (
        '{{"event_id": "e{i}", "event_type": "{kind}", "event_ts": "2026-03-02T10:00:00Z",'
        ' "schema_version": 2, "session_id": "s", "channel": "web", "country": "DE", "page": "/"}}\n'
    )
    path.write_text(
        "".join(line.format(i=i, kind="bogus" if i % 100 == 0 else "page_view") for i in range(400_000))
    )
    connection = connect(":memory:")
    connection.execute("SET threads = 16")
    source = FileSource.of([path], block_bytes=256 * 1024 * 1024)  # one batch
    report = Ingestor(connection, IngestSettings(), clock=lambda: CLOCK).run(source, "file")
    assert report.batches == 1
    own_text = "json_extract_string(raw, '$.event_id') = event_id"
    refused = connection.sql(
        f"SELECT count(*), count(*) FILTER (WHERE {own_text}) FROM quarantine"
    ).fetchall()
    assert refused == [(4_000, 4_000)]
