"""The ingest bench stages do the real work on a small feed, and so does their baseline."""

from __future__ import annotations

from pathlib import Path

import duckdb

from shopstream.bench.ingest_stages import ingest_feed, prepare_feed, pydantic_loop


def test_ingest_stage_and_baseline_store_the_feed(tmp_path: Path) -> None:
    prepared = prepare_feed(20_000, "parquet", tmp_path / "parquet")
    assert ingest_feed(prepared) >= 20_000
    stored = duckdb.connect(str(prepared[1])).sql("SELECT count(*) FROM events").fetchall()[0][0]
    assert 0.9 * 20_000 < stored <= 20_500
    lines = prepare_feed(5_000, "jsonl", tmp_path / "jsonl")
    assert pydantic_loop(lines) >= 5_000
    kept = duckdb.connect(str(lines[1])).sql("SELECT count(*) FROM collected").fetchall()[0][0]
    assert 0.9 * 5_000 < kept <= 5_200
