"""The shopstream command as a user meets it: help, versions, the contract, and one-line errors.

Tests marked below as needing the simulator call ``shopstream.generator`` for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from fake_stages import count_stage
from shopstream import __version__
from shopstream.bench.stages import STAGES
from shopstream.cli.main import app
from shopstream.events.contract import EVENT_COLUMNS, SCHEMA_VERSION
from shopstream.generator.summary import read_generated

runner = CliRunner()


def shopstream(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``shopstream`` entry point in a child process."""
    return subprocess.run(
        [sys.executable, "-c", "from shopstream.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("version", "schema", "generate", "demo", "bench"):
        assert command in result.stdout


def test_version_names_package_and_contract() -> None:
    result = runner.invoke(app, ["version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == f"shopstream {__version__}, event contract v{SCHEMA_VERSION}"


def test_schema_is_valid_draft_2020_12_json_schema() -> None:
    result = runner.invoke(app, ["schema", "--format", "json-schema"])

    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {column.name for column in EVENT_COLUMNS}


def test_schema_markdown_has_one_row_per_column() -> None:
    result = runner.invoke(app, ["schema", "--format", "markdown"])

    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    assert result.exit_code == 0
    assert [row.split("`")[1] for row in rows] == [column.name for column in EVENT_COLUMNS]


def test_schema_arrow_lists_every_column_with_its_type() -> None:
    result = runner.invoke(app, ["schema", "--format", "arrow"])

    assert result.exit_code == 0
    assert "order_total: decimal128(18, 2)" in result.stdout
    top_level = [line.split(":")[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert top_level == [column.name for column in EVENT_COLUMNS]


MISTAKES = {
    "neither --events nor --days": (["generate", "--out", "OUT"], "exactly one of --events N or --days D"),
    "both --events and --days": (
        ["generate", "--out", "OUT", "--events", "10", "--days", "1"],
        "exactly one of --events N or --days D",
    ),
    "missing config file": (
        ["generate", "--out", "OUT", "--days", "1", "--config", "no-such.toml"],
        "config file no-such.toml does not exist",
    ),
}


@pytest.mark.parametrize(("args", "message"), MISTAKES.values(), ids=MISTAKES.keys())
def test_user_mistake_is_one_red_line_and_exit_1(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, [str(out) if arg == "OUT" else arg for arg in args])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert not out.exists()


def test_user_mistake_from_the_real_entry_point_has_no_traceback() -> None:
    result = shopstream("generate", "--out", "x", "--events", "10", "--days", "1")

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: give exactly one of --events N or --days D"]
    assert "Traceback" not in result.stdout + result.stderr


def test_unknown_bench_stage_names_the_known_ones() -> None:
    """Needs the simulator: the stage registry includes ``generate``."""
    result = shopstream("bench", "no-such-stage")

    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown bench stage 'no-such-stage'; choose one of: ")
    assert "generate" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_generate_is_reproducible_from_its_seed(tmp_path: Path) -> None:
    """Needs the simulator."""
    first = runner.invoke(app, ["generate", "--out", str(tmp_path / "a"), "--events", "5000", "--seed", "7"])
    second = runner.invoke(app, ["generate", "--out", str(tmp_path / "b"), "--events", "5000", "--seed", "7"])

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert "wrote 5,000 events" in first.stdout
    events_a, _ = read_generated(sorted((tmp_path / "a").rglob("*.parquet")))
    events_b, _ = read_generated(sorted((tmp_path / "b").rglob("*.parquet")))
    assert events_a.num_rows == 5000
    assert events_a.equals(events_b)


def test_demo_shows_a_day_of_the_shop(tmp_path: Path) -> None:
    """Needs the simulator."""
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])

    assert result.exit_code == 0, result.stderr
    for metric in ("conversion rate", "cart abandonment rate", "revenue", "injected anomalies"):
        assert metric in result.stdout
    assert list((tmp_path / "demo").rglob("*.parquet"))


def test_bench_generate_reports_json_with_its_baseline() -> None:
    """Needs the simulator."""
    result = shopstream("bench", "generate", "--events", "20000", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["stage"], report["events"], report["baseline"]) == ("generate", 20000, "python-loop")
    assert report["ratio"] == pytest.approx(report["events_per_s"] / report["baseline_events_per_s"])


COUNT = count_stage(max_baseline_events=100)


def test_bench_json_is_one_object_for_a_registered_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STAGES, "count", COUNT)

    result = runner.invoke(app, ["bench", "count", "--events", "1000", "--json"])

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["stage"], report["events"], report["baseline"], report["baseline_events"]) == (
        "count",
        1000,
        "loop",
        100,
    )
    assert report["ratio"] == pytest.approx(report["events_per_s"] / report["baseline_events_per_s"])


def test_bench_table_shows_stage_and_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STAGES, "count", COUNT)

    result = runner.invoke(app, ["bench", "count", "--events", "1000"])

    assert result.exit_code == 0, result.stderr
    assert "bench count" in result.stdout
    assert "baseline: loop" in result.stdout
    assert "× the baseline's throughput" in result.stdout
