"""The quarantine: list, show and replay refused records.

Replay re-reads quarantined records (their raw text, through the mapping they came
with or a fixed one) as a new batch of source ``replay``: in one transaction the
replayed rows leave the quarantine, the accepted become events, and those still
refused return with their current reason. A record accepted meanwhile through
another copy counts as a duplicate, so a replay never creates a second event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.ingest.decode import POSITION, RAW, RECORDS
from shopstream.ingest.errors import QuarantineError
from shopstream.ingest.rules import Reason
from shopstream.ingest.sources import RawBatch

if TYPE_CHECKING:
    from shopstream.ingest.pipeline import BatchLedger, Ingestor

LIST_COLUMNS = (
    "quarantine_id",
    "source",
    "unit",
    "position",
    "reason",
    "field",
    "value",
    "message",
    "received_at",
)


@dataclass(frozen=True)
class Filter:
    """Which quarantined records a command means; empty means all."""

    reason: str | None = None
    source: str | None = None
    ids: tuple[str, ...] = ()

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause with bound parameters."""
        clauses, params = ["true"], []
        if self.reason is not None:
            if self.reason not in set(Reason):
                choices = ", ".join(r.value for r in Reason)
                raise QuarantineError(f"unknown reason {self.reason!r}; use one of: {choices}")
            clauses.append("reason = ?")
            params.append(self.reason)
        if self.source is not None:
            clauses.append("source = ?")
            params.append(self.source)
        if self.ids:
            clauses.append(f"quarantine_id IN ({', '.join('?' for _ in self.ids)})")
            params.extend(self.ids)
        return " AND ".join(clauses), params


def list_records(connection: duckdb.DuckDBPyConnection, where: Filter, limit: int = 50) -> pa.Table:
    """The newest quarantined records matching ``where`` (without their raw text)."""
    clause, params = where.sql()
    columns = ", ".join(LIST_COLUMNS)
    return connection.sql(
        f"SELECT {columns} FROM quarantine WHERE {clause} "
        f"ORDER BY received_at DESC, unit, position LIMIT {int(limit)}",
        params=params,
    ).to_arrow_table()


def counts(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Quarantined records (source records, not rows) by reason."""
    rows = connection.execute(
        "SELECT reason, sum(records) FROM quarantine GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return {str(reason): int(n) for reason, n in rows}


def show(connection: duckdb.DuckDBPyConnection, quarantine_id: str) -> dict[str, Any]:
    """One quarantined record, raw text included."""
    found = connection.sql(
        "SELECT * FROM quarantine WHERE quarantine_id = ?", params=[quarantine_id]
    ).to_arrow_table()
    if not found.num_rows:
        raise QuarantineError(
            f"no quarantined record {quarantine_id!r}; `shopstream quarantine list` shows the ids"
        )
    record: dict[str, Any] = found.to_pylist()[0]
    return record


def replay(ingestor: Ingestor, where: Filter) -> BatchLedger:
    """Re-ingest the quarantined records matching ``where`` (see the module docstring)."""
    clause, params = where.sql()
    return replay_where(ingestor, clause, params)


def replay_where(ingestor: Ingestor, clause: str, params: list[Any] | None = None) -> BatchLedger:
    """Replay the quarantine rows matching an SQL ``clause``, one batch per unit and mapping."""
    from shopstream.ingest.mapping import load_mapping
    from shopstream.ingest.pipeline import BatchLedger, Ingestor

    rows = ingestor.connection.sql(
        f"SELECT quarantine_id, unit, position, raw, records, mapping FROM quarantine WHERE {clause} "
        "ORDER BY unit, position",
        params=params or [],
    ).to_arrow_table()
    total = BatchLedger(source="replay", unit="quarantine", start=0, end=0, received=0)
    if not rows.num_rows:
        return total
    groups = rows.group_by(["unit", "mapping"], use_threads=False).aggregate([]).to_pylist()
    for group in groups:
        unit, mapping_name = group["unit"], group["mapping"]
        mask = pc.and_(
            pc.equal(rows.column("unit"), unit),
            pc.is_null(rows.column("mapping"))
            if mapping_name is None
            else pc.equal(rows.column("mapping"), mapping_name),
        )
        part = rows.filter(mask)
        records = pa.table(
            {
                POSITION: part.column("position"),
                RAW: part.column("raw").cast(pa.large_string()),
                RECORDS: part.column("records"),
            }
        )
        positions = part.column("position").to_numpy()
        batch = RawBatch(unit, int(positions.min()), int(positions.max()) + 1, records, "json", final=False)
        mapping = (
            ingestor.mapping
            if ingestor.mapping is not None or mapping_name is None
            else load_mapping(mapping_name)
        )
        runner = Ingestor(ingestor.connection, ingestor.settings, mapping=mapping, clock=ingestor.clock)
        ledger = runner.ingest_batch(batch, "replay", replacing=part.column("quarantine_id"))
        total.received += ledger.received
        total.accepted += ledger.accepted
        total.quarantined += ledger.quarantined
        total.duplicates += ledger.duplicates
        for reason, n in ledger.by_reason.items():
            total.by_reason[reason] = total.by_reason.get(reason, 0) + n
    return total
