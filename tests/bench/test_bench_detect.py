"""Detection requirements of the stream (``make bench``), scored on a simulated week.

Order, bot and user anomalies: recall >= 0.95 and precision >= 0.90. Every injected metric
incident found within 2 windows of its start. At most 1 false metric alert per simulated day
with anomalies disabled.
"""

from __future__ import annotations

import pytest

from factories import bench_report


@pytest.mark.bench
def test_detection_on_a_simulated_week() -> None:
    figures = bench_report("detect", 1)["figures"]
    for group, score in figures["records"].items():
        assert score["recall"] >= 0.95, (group, score)
        assert score["precision"] >= 0.90, (group, score)
    for kind, incidents in figures["incidents"].items():
        assert incidents["detected"] == incidents["injected"], (kind, incidents)
    assert figures["false_metric_alerts"]["per_day"] <= 1.0, figures["false_metric_alerts"]
