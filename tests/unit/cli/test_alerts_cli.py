"""``shopstream alerts list|ack|resolve`` as a user runs them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from factories import ALERT_T0, alert_batch, anomaly_rows
from shopstream.alerts import create_tables
from shopstream.cli.main import app
from shopstream.ingest import connect

runner = CliRunner()


def shop_with_alerts(path: Path) -> str:
    with connect(path) as connection:
        create_tables(connection)
        alert_batch(
            connection,
            anomaly_rows({"severity": "high"}, {"scope": "category=Toys", "anomaly_type": "conversion_drop"}),
            None,
            ALERT_T0 + timedelta(minutes=6),
        )
    return str(path)


def test_list_acknowledge_and_resolve(tmp_path: Path) -> None:
    db = shop_with_alerts(tmp_path / "shop.duckdb")
    listed = runner.invoke(app, ["alerts", "list", "--db", db, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["anomaly_type"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert {(r["status"], r["severity"]) for r in rows.values()} == {("open", "high"), ("open", "medium")}
    alert_id = rows["revenue_drop"]["alert_id"]

    acked = runner.invoke(app, ["alerts", "ack", alert_id, "--by", "ana", "--db", db])
    assert acked.exit_code == 0, acked.output
    assert acked.stdout.strip() == f"alert {alert_id} acknowledged by ana"
    resolved = runner.invoke(app, ["alerts", "resolve", alert_id, "--by", "bo", "--db", db])
    assert resolved.stdout.strip() == f"alert {alert_id} resolved by bo"

    table = runner.invoke(app, ["alerts", "list", "--status", "all", "--db", db], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "conversion_drop" in table.stdout
    assert "no notifications sent yet" in table.stdout
    only_resolved = runner.invoke(app, ["alerts", "list", "--status", "resolved", "--db", db, "--json"])
    assert [json.loads(line)["resolved_by"] for line in only_resolved.stdout.splitlines()] == ["bo"]


def test_user_mistakes_are_one_red_line(tmp_path: Path) -> None:
    db = shop_with_alerts(tmp_path / "shop.duckdb")
    unknown = runner.invoke(app, ["alerts", "ack", "feedfacefeedface", "--db", db])
    assert unknown.exit_code == 1
    assert (
        "no alert 'feedfacefeedface'; `shopstream alerts list --status all` shows the ids" in unknown.output
    )
    assert "Traceback" not in unknown.output
    alert_id = json.loads(
        runner.invoke(app, ["alerts", "list", "--db", db, "--json"]).stdout.splitlines()[0]
    )["alert_id"]
    runner.invoke(app, ["alerts", "resolve", alert_id, "--db", db])
    again = runner.invoke(app, ["alerts", "resolve", alert_id, "--db", db])
    assert again.exit_code == 1
    assert "nothing to do" in again.output
    missing = runner.invoke(app, ["alerts", "list", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1
    assert "run `shopstream ingest` first" in missing.output
