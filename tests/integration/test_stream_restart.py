"""Kill the stream part-way through a replay (SIGKILL) and run it again: every real-time table,
the alerts and their notification outbox equal an uninterrupted run's (processing times left
out: ``detected_at``, when alerts were opened, updated or resolved, when a notification was
queued)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from shopstream.generator.files import generate_files
from shopstream.settings import GeneratorSettings
from shopstream.stream.engine import TABLES

pytestmark = pytest.mark.integration


def _stream(feed: Path, db: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"SHOPSTREAM_INGEST__BATCH_BYTES": "300000", "SHOPSTREAM_INGEST__BATCH_ROWS": "4000"}
    shopstream = Path(sys.executable).parent / "shopstream"
    command = [str(shopstream), "stream", str(feed), "--db", str(db), "--json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


COMPARED = (*TABLES, "alerts", "alert_outbox")
PROCESSING_TIMES = {"detected_at", "opened_at", "updated_at", "resolved_at", "created_at"}


def _tables(db: Path) -> dict[str, pa.Table]:
    connection = duckdb.connect(str(db), read_only=True)
    tables = {}
    for table in COMPARED:
        columns = [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
        kept = ", ".join(c for c in columns if c not in PROCESSING_TIMES)
        tables[table] = connection.sql(f"SELECT {kept} FROM {table} ORDER BY ALL").to_arrow_table()
    connection.close()
    return tables


def _part_way(db: Path) -> bool:
    connection = duckdb.connect(str(db), read_only=True)
    rows = connection.sql(
        "SELECT count(*) FROM checkpoints WHERE NOT complete AND position > 0 AND unit LIKE '%events%'"
    ).fetchall()
    connection.close()
    return rows[0][0] > 0


def test_sigkill_then_rerun_gives_the_real_time_tables_of_an_uninterrupted_run(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    generate_files(GeneratorSettings(seed=11), out=feed, fmt="jsonl", events=60_000, days=None)
    whole = tmp_path / "whole.duckdb"
    first = _stream(feed, whole)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err.decode()
    expected = _tables(whole)
    for table in ("sales", "sessions", "abandoned_carts", "audit", "window_metrics"):
        assert expected[table].num_rows, f"{table} is empty: the test would prove nothing"

    killed = tmp_path / "killed.duckdb"
    for delay in (2.0, 3.0, 1.5, 4.0, 1.0, 6.0):
        killed.unlink(missing_ok=True)
        Path(f"{killed}.wal").unlink(missing_ok=True)
        run = _stream(feed, killed)
        time.sleep(delay)
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
        if killed.exists() and _part_way(killed):
            break
    else:
        pytest.fail("could not kill the stream part-way through the events file")
    rerun = _stream(feed, killed)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()
    assert b'"resumed_units": ["' in out
    got = _tables(killed)
    for table in COMPARED:
        assert got[table] == expected[table], table
