"""Performance requirements of ingestion (``make bench``): Parquet >= 1 M/s, JSON Lines >= 300k/s."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.bench
@pytest.mark.parametrize(("stage", "required"), [("ingest", 1_000_000), ("ingest-jsonl", 300_000)])
def test_ingest_throughput(stage: str, required: int) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shopstream.cli.main import main; main()",
            "bench",
            stage,
            "--events",
            "2000000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    print(json.dumps(report, indent=2))
    assert report["baseline"] == "pydantic-loop"
    assert report["events_per_s"] >= required, report
