"""Kill ingestion part-way (SIGKILL) and run it again: the tables equal an uninterrupted run's.

Events, quarantine, checkpoints and the ledger's totals per events file must be equal.
The ledger of entity files is an audit log of loads: the rerun loads them again (as
duplicates), so it has a row more for each and is left out of the comparison.
"""

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

from factories import user_tables
from shopstream.generator.files import generate_files
from shopstream.settings import GeneratorSettings

pytestmark = pytest.mark.integration


def _ingest(paths: list[Path], db: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"SHOPSTREAM_INGEST__BATCH_BYTES": "400000", "SHOPSTREAM_INGEST__BATCH_ROWS": "5000"}
    shopstream = Path(sys.executable).parent / "shopstream"
    command = [str(shopstream), "ingest", *map(str, paths), "--db", str(db), "--json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _tables(db: Path) -> dict[str, pa.Table]:
    connection = duckdb.connect(str(db), read_only=True)
    tables = {
        **user_tables(connection),
        "totals": connection.sql(
            "SELECT unit, sum(received), sum(accepted), sum(quarantined), sum(duplicates) "
            "FROM ledger WHERE source <> 'entities' GROUP BY unit ORDER BY unit"
        ).to_arrow_table(),
        "checkpoints": connection.sql(
            "SELECT unit, position, complete FROM checkpoints ORDER BY unit"
        ).to_arrow_table(),
    }
    connection.close()
    return tables


def _incomplete(db: Path) -> bool:
    connection = duckdb.connect(str(db), read_only=True)
    rows = connection.sql("SELECT count(*) FROM checkpoints WHERE NOT complete AND position > 0").fetchall()
    connection.close()
    return rows[0][0] > 0


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path: Path, fmt: str) -> None:
    feed = tmp_path / "feed"
    generate_files(GeneratorSettings(seed=8), out=feed, fmt=fmt, events=60_000, days=None)
    whole = tmp_path / "whole.duckdb"
    first = _ingest([feed], whole)
    first.communicate(timeout=300)
    assert first.returncode == 0
    expected = _tables(whole)

    killed = tmp_path / "killed.duckdb"
    for delay in (1.5, 2.5, 1.0, 3.5, 0.7, 5.0):
        killed.unlink(missing_ok=True)
        Path(f"{killed}.wal").unlink(missing_ok=True)
        run = _ingest([feed], killed)
        time.sleep(delay)
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)  # a run that finished before the kill is retried
        if killed.exists() and _incomplete(killed):
            break
    else:
        pytest.fail("could not kill ingestion part-way through a unit")
    rerun = _ingest([feed], killed)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert b'"resumed_units": ["' in out
    assert _tables(killed) == expected
