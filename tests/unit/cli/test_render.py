"""What the CLI shows for a generate report, a shop summary and a bench result."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from shopstream.bench.harness import BenchResult
from shopstream.cli.render import bench_table, report_line, summary_table
from shopstream.generator.summary import ShopSummary


def text_of(renderable: object) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@dataclass(frozen=True)
class Report:
    """Shaped like the generator's GenerateReport."""

    events: int
    labels: int
    files: list[Path]
    seconds: float
    first_ts: datetime
    last_ts: datetime


def test_report_line_says_what_was_written_and_how_fast() -> None:
    report = Report(
        events=2_000_000,
        labels=1_234,
        files=[Path("a.parquet"), Path("b.parquet")],
        seconds=0.5,
        first_ts=datetime(2026, 1, 1, tzinfo=UTC),
        last_ts=datetime(2026, 1, 2, 0, 0, tzinfo=UTC),
    )

    assert report_line(report, Path("feed")) == (
        "wrote 2,000,000 events and 1,234 anomaly labels to 2 files in feed in 0.50 s (4,000,000 events/s); "
        "event time 2026-01-01 00:00 → 2026-01-02 00:00 UTC"
    )


def test_summary_table_shows_rates_as_percentages_and_anomalies_by_kind() -> None:
    summary = ShopSummary(
        events=10,
        events_by_type={"page_view": 6, "purchase": 4},
        sessions=5,
        online_sessions=4,
        conversion_rate=0.25,
        cart_sessions=2,
        cart_abandonment_rate=0.5,
        orders=4,
        revenue=1234.5,
        average_order_value=308.625,
        anomalies_by_kind={"price_spike": 2, "bot_session": 1},
    )

    text = text_of(summary_table(summary))

    for expected in (
        "conversion rate",
        "25.00%",
        "50.00%",
        "1,234.50",
        "308.62",
        "price_spike",
        "injected anomalies",
    ):
        assert expected in text


def test_bench_table_shows_both_runs_and_the_ratio() -> None:
    result = BenchResult(
        stage="generate",
        events=10_000_000,
        seconds=1.25,
        events_per_s=8_000_000,
        peak_rss_mb=512,
        baseline="python-loop",
        baseline_events=200_000,
        baseline_seconds=1.6,
        baseline_events_per_s=125_000,
        baseline_peak_rss_mb=150,
        ratio=64,
    )

    text = text_of(bench_table(result))

    assert "8,000,000" in text
    assert "baseline: python-loop" in text
    assert "64.0× the baseline's throughput" in text
