"""``shopstream ingest`` and ``shopstream quarantine`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopstream.cli.main import app
from shopstream.generator.files import generate_files
from shopstream.settings import GeneratorSettings

runner = CliRunner()


def test_ingest_prints_the_ledger_and_the_quarantine_can_be_browsed_and_replayed(tmp_path: Path) -> None:
    generate_files(
        GeneratorSettings(seed=2, anomaly_rate=0.2),
        out=tmp_path / "feed",
        fmt="jsonl",
        events=5_000,
        days=None,
    )
    db = str(tmp_path / "shop.duckdb")
    result = runner.invoke(app, ["ingest", str(tmp_path / "feed"), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    ledger = json.loads(result.stdout)
    assert ledger["received"] == ledger["accepted"] + ledger["quarantined"] + ledger["duplicates"] >= 5_000
    assert ledger["quarantined"] == sum(ledger["by_reason"].values()) > 0

    listed = runner.invoke(
        app, ["quarantine", "list", "--db", db, "--json", "--limit", "5", "--reason", "wrong_type"]
    )
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert 0 < len(rows) <= 5
    assert {row["reason"] for row in rows} == {"wrong_type"}
    shown = json.loads(
        runner.invoke(app, ["quarantine", "show", rows[0]["quarantine_id"], "--db", db]).stdout
    )
    assert shown["raw"]
    assert shown["field"] == "schema_version"

    replayed = runner.invoke(app, ["quarantine", "replay", "--reason", "wrong_type", "--db", db, "--json"])
    again = json.loads(replayed.stdout)
    assert again["received"] == ledger["by_reason"]["wrong_type"] == again["quarantined"]  # still wrong: kept

    table = runner.invoke(app, ["ingest", str(tmp_path / "feed"), "--db", db])
    assert "duplicates" in table.stdout


def test_user_mistakes_are_one_red_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where the default store would be created
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "x.duckdb")])
    assert missing.exit_code == 1
    assert "no such file" in missing.output
    mapping = runner.invoke(app, ["ingest", str(tmp_path), "--mapping", "excel"])
    assert mapping.exit_code == 1
    assert "unknown mapping" in mapping.output
    assert not list(tmp_path.glob("shopstream.duckdb*")), "a refused command created a store"
    nodb = runner.invoke(app, ["quarantine", "list", "--db", str(tmp_path / "none.duckdb")])
    assert nodb.exit_code == 1
    assert "run `shopstream ingest` first" in nodb.output
