"""Sources: records and positions from every kind of input, whatever its bytes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import CLOCK
from shopstream.events.contract import EVENT_COLUMNS
from shopstream.ingest import FileSource, IngestError, Ingestor, PayloadSource, connect
from shopstream.ingest.sources import csv_block, expand, json_lines, text_blocks
from shopstream.settings import IngestSettings

EVENT = {
    "event_id": "e1",
    "event_type": "page_view",
    "event_ts": "2026-03-01T10:00:00Z",
    "schema_version": 2,
    "session_id": "s1",
    "channel": "web",
    "country": "DE",
    "page": "/",
}


def _run(source: object) -> tuple[object, object]:
    connection = connect(":memory:")
    report = Ingestor(connection, IngestSettings(), clock=lambda: CLOCK).run(source, "test")  # type: ignore[arg-type]
    return connection, report


def test_json_lines_keep_every_line_as_a_record() -> None:
    batch = json_lines(b'{"a":1}\n\n{"a":\n', start=10, unit="u", final=True)
    assert (batch.start, batch.end) == (10, 13)
    assert batch.records.column("_position").to_pylist() == [10, 11, 12]


def test_csv_lines_with_broken_quotes_or_cells_are_malformed_at_their_place() -> None:
    header = b"event_id,event_type,page\n"
    data = b'a,page_view,/\n"b,page_view\nc,page_view,/x,extra\nd,page_view,"/y"\n'
    batch = csv_block(header, data, start=0, unit="u", final=True)
    records = batch.records.to_pydict()
    assert records["_position"] == [0, 1, 2, 3]
    assert records["_malformed"] == [False, True, True, False]
    assert records["event_id"] == ["a", None, None, "d"]
    assert records["_raw"][1] == '"b,page_view\n'


def test_csv_lines_with_a_lone_carriage_return_are_malformed() -> None:
    # found by test_any_file_never_crashes_and_every_line_is_counted (data=b"\r\x00")
    header = b"event_id,event_type,page\n"
    data = b"a,page_view,/\r\nb\rc,page_view,/\n\r\x00"
    records = csv_block(header, data, start=0, unit="u", final=True).records.to_pydict()
    assert records["_position"] == [0, 1, 2]
    assert records["_malformed"] == [False, True, True]
    assert records["event_id"] == ["a", None, None]


def test_files_blocks_gzip_and_globs(tmp_path: Path) -> None:
    lines = [json.dumps(EVENT | {"event_id": f"e{i}"}) for i in range(1_000)]
    (tmp_path / "a.jsonl").write_text("\n".join(lines[:500]) + "\n")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as handle:
        handle.write("\n".join(lines[500:]))
    source = FileSource.of([str(tmp_path / "*.jsonl*")])
    source.block_bytes = 4_096  # many small batches, lines cut at block edges
    _, report = _run(source)
    assert report.received == report.accepted == 1_000  # type: ignore[attr-defined]
    assert report.batches > 10  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"x" * 50]), max_size=80).map(b"".join),
    block=st.integers(1, 64),
    gz=st.booleans(),
)
def test_text_blocks_cut_at_newlines_and_add_up_to_the_file(
    tmp_path: Path, content: bytes, block: int, gz: bool
) -> None:
    path = tmp_path / ("f.jsonl.gz" if gz else "f.jsonl")
    path.write_bytes(gzip.compress(content) if gz else content)
    blocks = list(text_blocks(path, block))
    assert b"".join(bytes(data) for data, _ in blocks) == content
    assert [last for _, last in blocks] == [False] * (len(blocks) - 1) + [True]
    assert all(bytes(data).endswith(b"\n") for data, last in blocks if not last)


def test_unknown_file_types_and_missing_paths_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(IngestError, match="unknown file type"):
        FileSource.of([tmp_path / "x.xlsx"])
    with pytest.raises(IngestError, match="no such file"):
        expand([tmp_path / "nope.jsonl"])


def test_payloads_arrays_objects_and_lines() -> None:
    array = json.dumps([EVENT | {"event_id": "p1"}, EVENT | {"event_id": "p2"}, 7]).encode()
    single = json.dumps(EVENT | {"event_id": "p3"}).encode()
    garbage = b'[{"event_id": "p4"'
    _, report = _run(PayloadSource([array, single, garbage]))
    assert report.received == 5  # type: ignore[attr-defined]
    assert report.accepted == 3  # type: ignore[attr-defined]
    assert report.by_reason == {"malformed_record": 2}  # type: ignore[attr-defined]


def test_json_lines_that_are_not_objects_are_malformed() -> None:
    padded = (" \t" + json.dumps(EVENT | {"event_id": "w1"})).encode()
    others = [
        b"[1, 2]",
        b"42",
        b'"text"',
        b"null",
        b" [{}]",
        b"{",
        json.dumps(EVENT | {"event_id": "w2"}).encode(),
    ]
    _, report = _run(PayloadSource([b"\n".join([padded, *others])]))
    assert report.accepted == 2  # type: ignore[attr-defined]
    assert report.by_reason == {"malformed_record": 6}  # type: ignore[attr-defined]


def test_a_value_that_does_not_cast_is_a_wrong_type_even_where_it_is_optional() -> None:
    lines = [
        EVENT | {"event_id": "a", "items": None, "price": None},  # explicit nulls are absent values
        EVENT | {"event_id": "b", "items": "abc"},
        EVENT | {"event_id": "c", "items": 5},
        EVENT | {"event_id": "d", "age": "old"},
    ]
    connection, report = _run(PayloadSource(["\n".join(json.dumps(line) for line in lines).encode()]))
    assert report.accepted == 1  # type: ignore[attr-defined]
    refused = connection.sql("SELECT event_id, reason, field FROM quarantine ORDER BY 1").fetchall()  # type: ignore[attr-defined]
    assert refused == [("b", "wrong_type", "items"), ("c", "wrong_type", "items"), ("d", "wrong_type", "age")]


def test_times_without_an_offset_are_utc_whatever_the_machine_zone() -> None:
    connection = connect(":memory:")
    connection.execute("SET GLOBAL TimeZone = 'America/New_York'")  # a machine in New York
    line = json.dumps(EVENT | {"event_ts": "2026-03-01 10:00:00"}).encode()
    Ingestor(connection, IngestSettings(), clock=lambda: CLOCK).run(PayloadSource([line]), "test")
    stored = connection.sql("SELECT strftime(event_ts AT TIME ZONE 'UTC', '%H:%M') FROM events").fetchall()
    assert stored == [("10:00",)]


TEXT = st.one_of(
    st.binary(max_size=400),
    st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    c.name: st.one_of(st.none(), st.text(max_size=8), st.integers())
                    for c in EVENT_COLUMNS[:12]
                },
            ).map(json.dumps),
            st.just(json.dumps(EVENT)),
            st.text(max_size=40),
        ),
        max_size=12,
    ).map(lambda lines: "\n".join(lines).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(TEXT, min_size=1, max_size=3))
def test_any_bytes_never_crash_and_the_ledger_balances(payloads: list[bytes]) -> None:
    connection, report = _run(PayloadSource(payloads))
    assert report.received == report.accepted + report.quarantined + report.duplicates  # type: ignore[attr-defined]
    ledger = connection.sql(  # type: ignore[attr-defined]
        "SELECT coalesce(sum(received), 0), coalesce(sum(accepted + quarantined + duplicates), 0) FROM ledger"
    ).fetchall()[0]
    assert ledger[0] == ledger[1] == report.received  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=TEXT, fmt=st.sampled_from(["jsonl", "csv"]))
def test_any_file_never_crashes_and_every_line_is_counted(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, fmt: str
) -> None:
    path = tmp_path_factory.mktemp("any") / f"events.{fmt}"
    body = (b"event_id,event_type,event_ts,page\n" + data) if fmt == "csv" else data
    path.write_bytes(body)
    _, report = _run(FileSource.of([path]))
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert report.received == lines  # type: ignore[attr-defined]
    assert report.received == report.accepted + report.quarantined + report.duplicates  # type: ignore[attr-defined]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "event_id": st.one_of(st.none(), st.text(max_size=5)),
                "event_type": st.one_of(st.none(), st.sampled_from(["page_view", "x"])),
                "quantity": st.one_of(st.none(), st.integers(-5, 5)),
            }
        ),
        max_size=30,
    )
)
def test_any_typed_rows_never_crash(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, object]]
) -> None:
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("rows") / "events.parquet"
    schema = pa.schema([("event_id", pa.string()), ("event_type", pa.string()), ("quantity", pa.int64())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    _, report = _run(FileSource.of([path]))
    assert report.received == len(rows) == report.accepted + report.quarantined + report.duplicates  # type: ignore[attr-defined]
