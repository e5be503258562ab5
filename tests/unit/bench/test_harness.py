"""The bench harness measures a stage and its baseline in fresh processes and reports honest numbers."""

from __future__ import annotations

import json

import pytest

from fake_stages import MIB, count_events, count_stage, hold_64_mib
from shopstream.bench.errors import BenchError, UnknownStageError
from shopstream.bench.harness import BenchResult, Stage, bench, find_stage

FAST = count_stage(max_baseline_events=1_000)


def test_result_has_every_key_and_ratio_is_throughput_over_baseline_throughput() -> None:
    result = bench(FAST, 50_000).to_dict()

    assert set(result) >= {
        "stage",
        "events",
        "seconds",
        "events_per_s",
        "peak_rss_mb",
        "baseline",
        "baseline_events",
        "baseline_events_per_s",
        "ratio",
    }
    assert (result["stage"], result["events"], result["baseline"]) == ("count", 50_000, "loop")
    assert result["baseline_events"] == 1_000  # capped by the baseline's max_events
    assert result["events_per_s"] == pytest.approx(result["events"] / result["seconds"])
    assert result["ratio"] == pytest.approx(result["events_per_s"] / result["baseline_events_per_s"])
    assert json.loads(json.dumps(result)) == result


def test_baseline_runs_on_all_events_when_fewer_than_its_cap() -> None:
    assert bench(FAST, 300).baseline_events == 300


def test_stage_without_baseline_reports_no_baseline_keys() -> None:
    result = bench(Stage(name="count", description="", run=count_events), 10).to_dict()

    assert result["events"] == 10
    assert not any(key.startswith("baseline") or key == "ratio" for key in result)


def test_peak_memory_is_the_stage_process_own() -> None:
    parent_ballast = b"p" * (256 * MIB)  # must not be blamed on the stage

    held = bench(Stage(name="hold", description="", run=hold_64_mib), 1)
    idle = bench(Stage(name="idle", description="", run=count_events), 1)

    assert len(parent_ballast) == 256 * MIB
    assert held.peak_rss_mb >= 64
    assert idle.peak_rss_mb < 200
    assert held.peak_rss_mb - idle.peak_rss_mb == pytest.approx(64, abs=16)


def test_unknown_stage_names_the_known_ones() -> None:
    with pytest.raises(UnknownStageError, match=r"unknown bench stage 'genrate'; choose one of: count"):
        find_stage("genrate", {"count": FAST})


def test_zero_events_is_a_user_error() -> None:
    with pytest.raises(BenchError, match="--events must be at least 1"):
        bench(FAST, 0)


def test_result_is_plain_data() -> None:
    result = BenchResult(stage="s", events=4, seconds=2.0, events_per_s=2.0, peak_rss_mb=1.0)
    assert result.to_dict() == {
        "stage": "s",
        "events": 4,
        "seconds": 2.0,
        "events_per_s": 2.0,
        "peak_rss_mb": 1.0,
    }
