"""Benchmarks of ingestion: decode, validate, dedupe and persist simulator events.

``prepare`` (untimed) writes the simulated feed (default settings, anomalies
included) as Parquet or JSON Lines into a temporary directory and loads its
entity files into a fresh DuckDB file; ``run`` (timed) ingests the events file
into that file-backed store: every batch decoded, validated, deduplicated and
committed with its ledger row, exactly as ``shopstream ingest`` does.

The baseline (``pydantic-loop``) is what a hand-written collector would do: read
the JSON lines, validate each with a pydantic model of the contract
(``model_validate_json``, the fastest validated path), drop repeated ids with a set,
and bulk-insert the valid events into a DuckDB table once at the end.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from shopstream.bench.harness import Baseline
from shopstream.events.contract import EVENT_COLUMNS, TIMESTAMP, EventType
from shopstream.generator.files import generate_files
from shopstream.ingest import FileSource, Ingestor, connect
from shopstream.ingest.store import connect as connect_store
from shopstream.settings import GeneratorSettings, IngestSettings


def prepare_feed(events: int, fmt: str, root: Path | None = None) -> tuple[Path, Path]:
    """A simulated feed of ``events`` events in ``fmt`` and a store that knows its entities.

    Files go under ``root`` (default: a new directory in the system's temp dir, which
    the spawned bench process leaves for the OS to clean).
    """
    root = root if root is not None else Path(tempfile.mkdtemp(prefix="shopstream-bench-"))
    generate_files(GeneratorSettings(), out=root / "feed", fmt=fmt, events=events, days=None)
    db = root / "bench.duckdb"
    connection = connect_store(db)
    ingestor = Ingestor(connection, IngestSettings())
    for entities in FileSource.of([root / "feed"]).entities():
        ingestor.load_entities(entities)
    connection.close()
    return root / "feed" / f"events.{fmt}", db


def prepare_parquet(events: int) -> tuple[Path, Path]:
    return prepare_feed(events, "parquet")


def prepare_jsonl(events: int) -> tuple[Path, Path]:
    return prepare_feed(events, "jsonl")


def ingest_feed(prepared: tuple[Path, Path]) -> int:
    """Ingest the events file into the prepared store; returns the records received."""
    path, db = prepared
    connection = connect(db)
    report = Ingestor(connection, IngestSettings()).run(FileSource.of([path]), "bench")
    connection.close()
    return report.received


# -- the baseline -----------------------------------------------------------------------------
class _Item(BaseModel):
    product_id: str
    quantity: int
    unit_price: Decimal


def _python_type(column: Any) -> Any:
    if column.type == TIMESTAMP:
        return datetime
    if pa.types.is_decimal(column.type):
        return Decimal
    if pa.types.is_integer(column.type):
        return int
    if pa.types.is_floating(column.type):
        return float
    if pa.types.is_list(column.type):
        return list[_Item]
    return str


EventModel: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "EventModel",
    __config__=ConfigDict(extra="ignore"),
    **{c.name: (_python_type(c) | None, None) for c in EVENT_COLUMNS},
)
"""The contract as a pydantic model (every field optional; types checked)."""
_TYPES = frozenset(t.value for t in EventType)


def pydantic_loop(prepared: tuple[Path, Path]) -> int:
    """Validate each JSON line with pydantic, dedupe with a set, insert the valid ones."""
    path, db = prepared
    seen: set[str] = set()
    valid: list[dict[str, Any]] = []
    received = 0
    with path.open("rb") as handle:
        for line in handle:
            received += 1
            try:
                event = EventModel.model_validate_json(line)
            except ValidationError:
                continue
            event_id = getattr(event, "event_id", None)
            if event_id is None or event_id in seen or getattr(event, "event_type", None) not in _TYPES:
                continue
            seen.add(event_id)
            valid.append(event.model_dump())
    connection = duckdb.connect(str(db))
    connection.execute("SET TimeZone = 'UTC'")
    table = pa.Table.from_pylist(valid)
    connection.register("valid", table)
    connection.execute("CREATE OR REPLACE TABLE collected AS SELECT * EXCLUDE (items) FROM valid")
    connection.close()
    return received


PYDANTIC_LOOP = Baseline(
    name="pydantic-loop",
    description="pydantic model_validate_json per JSON line, a set for dedupe, one bulk insert",
    run=pydantic_loop,
    max_events=200_000,
    prepare=prepare_jsonl,
)
