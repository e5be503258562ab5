"""Performance requirements of ingestion (``make bench``): Parquet >= 1 M/s, JSON Lines >= 300k/s."""

from __future__ import annotations

import pytest

from factories import bench_report


@pytest.mark.bench
@pytest.mark.parametrize(("stage", "required"), [("ingest", 1_000_000), ("ingest-jsonl", 300_000)])
def test_ingest_throughput(stage: str, required: int) -> None:
    report = bench_report(stage, 2_000_000)
    assert report["baseline"] == "pydantic-loop"
    assert report["events_per_s"] >= required, report
