"""Performance requirement of the simulator: at least 5M events/s on this 2-core machine (``make bench``)."""

from __future__ import annotations

import pytest

from factories import bench_report

REQUIRED_EVENTS_PER_S = 5_000_000


@pytest.mark.bench
def test_generate_sustains_five_million_events_per_second() -> None:
    report = bench_report("generate", 10_000_000, timeout=600)
    assert report["events"] == 10_000_000
    assert report["events_per_s"] >= REQUIRED_EVENTS_PER_S, report
    assert report["ratio"] > 1
