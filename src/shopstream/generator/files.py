"""Writing the simulated feed to files: Parquet, JSON Lines or CSV; backfill or live.

The output directory holds ``events.<ext>``, the entities (``customers``,
``products``, ``stores``) and ``labels`` in the same format. Text formats are
serialised by DuckDB from the Arrow batches (no Python loop per event) and carry
the faults only text can: wrong types, unparsable timestamps and truncated records
(see :data:`shopstream.generator.TEXT_FAULTS`). In CSV, ``items`` is a JSON array.

Backfill writes the history as fast as it can; live mode (``rate``) starts at the
current minute and releases events when the wall clock reaches their time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopstream.events.conformance import literals
from shopstream.events.contract import EVENT_COLUMNS, EVENTS_SCHEMA, TIMESTAMP, USED_BY_TYPE
from shopstream.generator.errors import GeneratorError
from shopstream.generator.simulator import LABELS_SCHEMA, GeneratedBatch, Simulator
from shopstream.settings import GeneratorSettings

Format = Literal["parquet", "jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "jsonl", "csv")
EXTENSION = {"parquet": "parquet", "jsonl": "jsonl", "csv": "csv"}
EVENTS_PER_VISIT = 5.5
"""Mean events per visit at the default funnel; live mode sizes traffic with it."""
Progress = Callable[[int, int | None], None]


@dataclass
class GenerateReport:
    """What a ``generate`` run wrote."""

    events: int = 0
    labels: int = 0
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    first_ts: datetime | None = None
    last_ts: datetime | None = None


def _sql_value(name: str, arrow_type: pa.DataType, csv: bool) -> str:
    """SQL text of one column's value for a text line (names come from the contract)."""
    column = f'"{name}"'
    if arrow_type == TIMESTAMP:
        formatted = f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        if name == "event_ts":
            return f"CASE WHEN _fault = 'unparsable_timestamp' THEN '31/02/2026 25:61' ELSE {formatted} END"
        return formatted
    if name == "schema_version":
        if csv:
            return f"CASE WHEN _fault = 'wrong_type' THEN 'one' ELSE {column}::VARCHAR END"
        return f"CASE WHEN _fault = 'wrong_type' THEN '\"one\"'::JSON ELSE to_json({column}) END"
    if pa.types.is_list(arrow_type) and csv:
        return f"to_json({column})::VARCHAR"
    return f"{column}::VARCHAR" if csv else column


def _json_line_sql() -> str:
    """One JSON object per event holding the columns its type uses."""
    envelope = [c.name for c in EVENT_COLUMNS if len(c.used_by) == len(USED_BY_TYPE)]
    branches = []
    for event_type, names in USED_BY_TYPE.items():
        pairs = ", ".join(f"'{n}', {_sql_value(n, EVENTS_SCHEMA.field(n).type, False)}" for n in names)
        branches.append(f"WHEN '{event_type}' THEN json_object({pairs})")
    fallback = ", ".join(f"'{n}', {_sql_value(n, EVENTS_SCHEMA.field(n).type, False)}" for n in envelope)
    line = f"(CASE event_type::VARCHAR {' '.join(branches)} ELSE json_object({fallback}) END)::VARCHAR"
    return _line_query(line)


def _csv_line_sql() -> str:
    cells = []
    for f in EVENTS_SCHEMA:
        value = _sql_value(f.name, f.type, True)
        cells.append(f"""coalesce('"' || replace({value}, '"', '""') || '"', '')""")
    return _line_query(" || ',' || ".join(cells))


def _line_query(line: str) -> str:
    truncated = "CASE WHEN _fault = 'truncated_json' THEN left(l, length(l) // 2) ELSE l END"
    lines = f"SELECT {line} AS l, _row, _fault FROM batch"
    return f"SELECT {truncated} || chr(10) AS line FROM ({lines}) ORDER BY _row"


def _text_faults(batch: GeneratedBatch) -> pa.Array:
    """Per event row: the text-only fault to apply, or null."""
    labels = batch.labels
    text = labels.filter(
        pc.is_in(
            labels.column("kind"),
            value_set=pa.array(["wrong_type", "unparsable_timestamp", "truncated_json"]),
        )
    )
    faults = np.full(batch.events.num_rows, None, dtype=object)
    rows = text.column("position").to_numpy() - batch.offset
    faults[rows] = np.array(text.column("kind").to_pylist(), dtype=object)
    return pa.array(faults, pa.string())


class _TextWriter:
    """Appends batches to a text events file through DuckDB."""

    def __init__(self, handle: IO[bytes], fmt: Format) -> None:
        self.handle = handle
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        self.query = _json_line_sql() if fmt == "jsonl" else _csv_line_sql()
        if fmt == "csv":
            handle.write((",".join(f.name for f in EVENTS_SCHEMA) + "\n").encode())

    def write(self, events: pa.Table, faults: pa.Array) -> None:
        batch = events.append_column("_fault", faults).append_column(
            "_row", pa.array(np.arange(events.num_rows))
        )
        self.connection.register("batch", batch)
        lines = self.connection.sql(self.query).to_arrow_table().column("line").combine_chunks()
        self.connection.unregister("batch")
        if len(lines):
            offsets = np.frombuffer(
                lines.buffers()[1], dtype=np.int32 if lines.type == pa.string() else np.int64
            )
            start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
            self.handle.write(memoryview(lines.buffers()[2])[start:end])

    def close(self) -> None:
        self.connection.close()


def write_table(table: pa.Table, path: Path, fmt: Format) -> None:
    """One whole table (entities, labels) in ``fmt``."""
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.register("t", table)
    casts = ", ".join(
        f'strftime("{f.name}", \'%Y-%m-%dT%H:%M:%S.%fZ\') AS "{f.name}"'
        if f.type == TIMESTAMP
        else f'"{f.name}"'
        for f in table.schema
    )
    option = "(FORMAT json)" if fmt == "jsonl" else "(FORMAT csv, HEADER true)"
    # COPY cannot bind its target as a parameter: quote the path as a SQL string literal
    target = literals([path.as_posix()])
    connection.execute(f"COPY (SELECT {casts} FROM t) TO {target} {option}")
    connection.close()


def live_settings(settings: GeneratorSettings, rate: float) -> tuple[GeneratorSettings, int]:
    """Live mode at ``rate`` events per second: the settings of a feed that starts at the
    current minute, and how far the clock is past that minute (microseconds)."""
    if rate <= 0:
        raise GeneratorError("--rate must be a positive number of events per second")
    started_at = datetime.now(UTC)
    now = started_at.replace(second=0, microsecond=0)
    lag_us = (started_at - now) // timedelta(microseconds=1)
    visits_per_day = max(1, round(rate * 86_400 / EVENTS_PER_VISIT))
    return settings.model_copy(update={"start": now, "sessions_per_day": visits_per_day}), lag_us


def released(batches: Iterator[GeneratedBatch], lag_us: int) -> Iterator[GeneratedBatch]:
    """Live mode: each batch cut into the slices the wall clock has reached, in time."""
    return (piece for batch in batches for piece in _released(batch, lag_us))


def _released(batch: GeneratedBatch, lag_us: int) -> Iterator[GeneratedBatch]:
    """Live mode: the batch cut into the slices the wall clock has reached, in time.

    The feed starts at a whole minute, ``lag_us`` before the run did: events are released
    that long after their time, so the feed follows the clock from its first event on
    rather than writing the minute so far at once.
    """
    ts = batch.events.column("event_ts").cast(pa.int64()).fill_null(0).to_numpy()
    release = np.maximum.accumulate(ts) if len(ts) else ts
    done = 0
    while done < len(ts):
        now_us = int(time.time() * 1_000_000) - lag_us
        ready = int(np.searchsorted(release, now_us, side="right"))
        if ready > done:
            yield GeneratedBatch(
                offset=batch.offset + done,
                events=batch.events.slice(done, ready - done),
                end_ts=batch.end_ts,
                make_labels=partial(_labels_between, batch, batch.offset + done, batch.offset + ready),
            )
            done = ready
        else:
            time.sleep(min(0.5, max(0.01, (release[done] - now_us) / 1_000_000)))


def _labels_between(batch: GeneratedBatch, start: int, stop: int) -> pa.Table:
    """The labels of ``batch`` for the stream's positions ``start`` to ``stop``; those without
    a position (bots, incidents) go with the batch's first slice, once."""
    position = pc.fill_null(batch.labels.column("position"), batch.offset)
    return batch.labels.filter(pc.and_(pc.greater_equal(position, start), pc.less(position, stop)))


def generate_files(
    settings: GeneratorSettings,
    *,
    out: Path,
    fmt: str,
    events: int | None,
    days: float | None,
    rate: float | None = None,
    progress: Progress | None = None,
) -> GenerateReport:
    """Simulate the shop and write events, entities and labels into ``out``."""
    if fmt not in FORMATS:
        raise GeneratorError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if (events is None) == (days is None):
        raise GeneratorError("give exactly one of --events N or --days D")
    if (events is not None and events <= 0) or (days is not None and days <= 0):
        raise GeneratorError("--events and --days must be positive")
    lag_us = 0
    if rate is not None:
        if fmt == "parquet":
            raise GeneratorError("live mode appends as events happen: use --format jsonl or csv with --rate")
        settings, lag_us = live_settings(settings, rate)
    format_: Format = fmt
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    simulator = Simulator(settings, text_faults=format_ != "parquet")
    report = GenerateReport()
    ext = EXTENSION[format_]
    for name, table in (
        ("customers", simulator.world.customers),
        ("products", simulator.world.products),
        ("stores", simulator.world.stores),
    ):
        path = out / f"{name}.{ext}"
        write_table(table, path, format_)
        report.files.append(path)
    events_path = out / f"events.{ext}"
    expected = events if events is not None else None
    labels: list[pa.Table] = []
    batches: Iterator[GeneratedBatch] = simulator.batches(events=events, days=days)
    if rate is not None:
        batches = released(batches, lag_us)
    if format_ == "parquet":
        writer = pq.ParquetWriter(events_path, EVENTS_SCHEMA)
        try:
            for batch in batches:
                writer.write_table(batch.events)
                _account(report, batch, labels, progress, expected)
        finally:
            writer.close()
    else:
        with events_path.open("wb") as handle:
            text = _TextWriter(handle, format_)
            try:
                for batch in batches:
                    text.write(batch.events, _text_faults(batch))
                    handle.flush()
                    _account(report, batch, labels, progress, expected)
            finally:
                text.close()
    report.files.append(events_path)
    labels_path = out / f"labels.{ext}"
    all_labels = pa.concat_tables(labels) if labels else LABELS_SCHEMA.empty_table()
    write_table(all_labels, labels_path, format_)
    report.files.append(labels_path)
    report.labels = all_labels.num_rows
    report.seconds = time.perf_counter() - started
    return report


def _account(
    report: GenerateReport,
    batch: GeneratedBatch,
    labels: list[pa.Table],
    progress: Progress | None,
    expected: int | None,
) -> None:
    report.events += batch.events.num_rows
    labels.append(batch.labels)
    ts = pc.min_max(batch.events.column("event_ts"))
    first, last = ts["min"].as_py(), ts["max"].as_py()
    if first is not None:
        report.first_ts = first if report.first_ts is None else min(report.first_ts, first)
        report.last_ts = last if report.last_ts is None else max(report.last_ts, last)
    if progress is not None:
        progress(report.events, expected)
