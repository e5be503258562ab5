"""Performance requirement of the simulator: at least 5 M events/s on one core (``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

REQUIRED_EVENTS_PER_S = 5_000_000


@pytest.mark.bench
def test_generate_sustains_five_million_events_per_second() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shopstream.cli.main import main; main()",
            "bench",
            "generate",
            "--events",
            "10000000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    print(json.dumps(report, indent=2))  # shown by -rA / on failure, for the record
    assert report["events"] == 10_000_000
    assert report["events_per_s"] >= REQUIRED_EVENTS_PER_S, report
    assert report["ratio"] > 1
