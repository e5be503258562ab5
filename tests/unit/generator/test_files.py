"""Writing the feed: byte-identical files per seed, text faults where labelled, live mode."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from shopstream.generator import Simulator
from shopstream.generator.errors import GeneratorError
from shopstream.generator.files import FORMATS, _labels_between, generate_files
from shopstream.settings import GeneratorSettings


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_gives_identical_bytes(tmp_path: Path, fmt: str) -> None:
    settings = GeneratorSettings(seed=11)
    for run in ("a", "b"):
        generate_files(settings, out=tmp_path / run, fmt=fmt, events=30_000, days=None)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    generate_files(
        settings.model_copy(update={"seed": 12}), out=tmp_path / "c", fmt=fmt, events=30_000, days=None
    )
    assert _digest(tmp_path / "a")[f"events.{fmt}"] != _digest(tmp_path / "c")[f"events.{fmt}"]


def test_jsonl_lines_break_exactly_where_labelled(tmp_path: Path) -> None:
    report = generate_files(GeneratorSettings(), out=tmp_path, fmt="jsonl", events=100_000, days=None)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert len(lines) == report.events == 100_000
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    by_kind: dict[str, set[int]] = {}
    for label in labels:
        if label["position"] is not None:
            by_kind.setdefault(label["kind"], set()).add(label["position"])
    assert by_kind["truncated_json"]
    assert by_kind["wrong_type"]
    assert by_kind["unparsable_timestamp"]
    for position, line in enumerate(lines):
        if position in by_kind["truncated_json"]:
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        event = json.loads(line)
        assert (event["schema_version"] == "one") == (position in by_kind["wrong_type"])
        assert (event["event_ts"] == "31/02/2026 25:61") == (position in by_kind["unparsable_timestamp"])


def test_csv_and_parquet_hold_the_same_events(tmp_path: Path) -> None:
    settings = GeneratorSettings(anomaly_rate=0.0)
    generate_files(settings, out=tmp_path / "csv", fmt="csv", events=20_000, days=None)
    generate_files(settings, out=tmp_path / "pq", fmt="parquet", events=20_000, days=None)
    csv_ids = duckdb.sql(
        f"SELECT event_id, order_total FROM read_csv('{tmp_path}/csv/events.csv', all_varchar=true)"
    )
    parquet = pq.read_table(tmp_path / "pq" / "events.parquet")
    assert csv_ids.fetchall() == [
        (e, None if t is None else f"{t:.2f}")
        for e, t in zip(
            parquet.column("event_id").to_pylist(), parquet.column("order_total").to_pylist(), strict=True
        )
    ]
    for entity in ("customers", "products", "stores", "labels"):
        assert (tmp_path / "csv" / f"{entity}.csv").exists()


def test_days_mode_covers_the_days(tmp_path: Path) -> None:
    report = generate_files(GeneratorSettings(), out=tmp_path, fmt="parquet", events=None, days=1.0)
    assert report.first_ts is not None
    assert report.last_ts is not None
    assert report.first_ts.date().isoformat() == "2026-01-01"
    assert (report.last_ts - report.first_ts).total_seconds() > 23 * 3600
    assert pq.read_metadata(tmp_path / "events.parquet").num_rows == report.events


def test_live_mode_follows_the_wall_clock(tmp_path: Path) -> None:
    started = time.time()
    report = generate_files(
        GeneratorSettings(), out=tmp_path, fmt="jsonl", events=1_500, days=None, rate=1_000.0
    )
    elapsed = time.time() - started
    assert report.events == 1_500
    assert report.first_ts is not None
    assert abs(report.first_ts.timestamp() - started) < 120
    assert report.last_ts is not None
    assert report.last_ts.timestamp() <= time.time() + 1
    assert elapsed > 0.3  # events were released by the clock, not written at once


def test_live_slices_share_out_a_batchs_labels_each_once() -> None:
    batch = next(Simulator(GeneratorSettings(anomaly_rate=0.2)).batches(events=60_000))
    cuts = [batch.offset, batch.offset + 1_000, batch.offset + 25_000, batch.offset + batch.events.num_rows]
    slices = [_labels_between(batch, start, stop) for start, stop in itertools.pairwise(cuts)]
    positionless = batch.labels.column("position").null_count
    assert positionless > 0  # bots and incidents: they go with the first slice only
    assert [s.column("position").null_count for s in slices] == [positionless, 0, 0]
    assert sum(s.num_rows for s in slices) == batch.labels.num_rows
    for (start, stop), labels in zip(itertools.pairwise(cuts), slices, strict=True):
        positions = labels.column("position").drop_null().to_pylist()
        assert all(start <= p < stop for p in positions)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "xml", "events": 10, "days": None}, "unknown format"),
        ({"fmt": "jsonl", "events": 10, "days": 1.0}, "exactly one"),
        ({"fmt": "jsonl", "events": None, "days": None}, "exactly one"),
        ({"fmt": "parquet", "events": 10, "days": None, "rate": 5.0}, "live mode"),
    ],
)
def test_bad_requests_say_what_to_change(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        generate_files(GeneratorSettings(), out=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_an_awkward_output_path_is_just_a_path(tmp_path: Path) -> None:
    out = tmp_path / "shop's data; DROP"
    generate_files(GeneratorSettings(), out=out, fmt="csv", events=1_000, days=None)
    assert (out / "labels.csv").exists()
    assert (out / "customers.csv").read_text().startswith("customer_id,")
