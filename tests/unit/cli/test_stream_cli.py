"""``shopstream stream`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from shopstream.cli.main import app

runner = CliRunner()


def test_stream_a_simulated_morning_reports_the_ledger_and_the_real_time_tables(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    result = runner.invoke(app, ["stream", "--simulate", "--days", "0.25", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    ledger = report["ingest"]
    assert ledger["received"] == ledger["accepted"] + ledger["quarantined"] + ledger["duplicates"] > 0
    assert report["watermark"] < report["newest_event"]
    assert report["sessions_closed"] > 0
    assert report["flagged"]["bot_session"] > 0
    connection = duckdb.connect(str(db), read_only=True)
    revenue = connection.sql("SELECT sum(revenue) FROM sales WHERE dimension = 'all'").fetchall()[0][0]
    by_country = connection.sql("SELECT sum(revenue) FROM sales WHERE dimension = 'country'").fetchall()[0][0]
    connection.close()
    assert revenue == by_country > 0


def test_stream_needs_files_or_the_simulator_with_an_extent(tmp_path: Path) -> None:
    both = runner.invoke(app, ["stream", "feed", "--simulate", "--db", str(tmp_path / "x.duckdb")])
    assert both.exit_code == 1
    assert "not both" in both.output
    endless = runner.invoke(app, ["stream", "--simulate", "--db", str(tmp_path / "x.duckdb")])
    assert endless.exit_code == 1
    assert "--days" in endless.output
