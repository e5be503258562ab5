"""Running the stream: a source through ingestion and the stream processor into one database.

Bounded replays (files, a simulated backfill) end when the source does; the live
simulator and :func:`follow` (files as they appear) run until they are stopped
(Ctrl-C stops them between batches: every committed batch stays committed, and the
next run resumes after it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from shopstream.alerts import Dispatcher, sinks_from_settings
from shopstream.ingest import store
from shopstream.ingest.mapping import load_mapping
from shopstream.ingest.pipeline import Ingestor, IngestReport, Progress, Source
from shopstream.ingest.sources import FileSource, SimulatorSource, expand, is_events_file
from shopstream.settings import Settings
from shopstream.stream.engine import StreamProcessor


@dataclass
class StreamReport:
    """What a stream run did: the ingestion ledger and where the stream's tables stand."""

    ingest: IngestReport
    tables: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ingest": self.ingest.to_dict(), **self.tables}


def summary(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Where the stream stands: watermark, open state, flags and anomalies by kind."""

    def pairs(query: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in connection.execute(query).fetchall()}

    watermark = connection.execute(
        "SELECT strftime(newest_event, '%Y-%m-%dT%H:%M:%SZ'), strftime(watermark, '%Y-%m-%dT%H:%M:%SZ')"
        " FROM watermark"
    ).fetchall()
    newest, mark = watermark[0] if watermark else (None, None)
    return {
        "newest_event": newest,
        "watermark": mark,
        "open_sessions": store.first_row(connection, "SELECT count(*) FROM open_sessions")[0],
        "sessions_closed": store.first_row(connection, "SELECT count(*) FROM sessions")[0],
        "abandoned_carts": store.first_row(connection, "SELECT count(*) FROM abandoned_carts")[0],
        "late_events": store.first_row(connection, "SELECT coalesce(sum(events), 0) FROM late_events")[0],
        "flagged": pairs("SELECT rule, count(*) FROM audit GROUP BY ALL ORDER BY ALL"),
        "anomalies": pairs("SELECT anomaly_type, count(*) FROM anomalies GROUP BY ALL ORDER BY ALL"),
        "inventory_alerts": pairs("SELECT kind, count(*) FROM inventory_alerts GROUP BY ALL ORDER BY ALL"),
    }


@contextmanager
def _pipeline(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    mapping: str,
    progress: Progress | None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Iterator[tuple[Ingestor, Progress]]:
    """Ingestion carrying the stream, and the progress callback to run it with.

    Alert notifications go out on a background thread, woken after each committed batch;
    what it has not sent when the run ends stays in the outbox for the next run.
    """
    processor = StreamProcessor(connection, settings.stream)
    ingestor = Ingestor(
        connection, settings.ingest, mapping=load_mapping(mapping), clock=clock, processor=processor
    )
    with Dispatcher(connection, sinks_from_settings(settings.alerts)) as dispatcher:

        def committed(received: int) -> None:
            dispatcher.notify()
            if progress is not None:
                progress(received)

        yield ingestor, committed
        dispatcher.flush(timeout=settings.alerts.timeout_seconds)


def stream_source(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    name: str,
    settings: Settings,
    *,
    mapping: str = "shopstream",
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> StreamReport:
    """Run ``source`` through ingestion and the stream into ``connection``."""
    with _pipeline(connection, settings, mapping, progress, clock) as (ingestor, committed):
        report = ingestor.run(source, name, committed)
    return StreamReport(report, summary(connection))


def stream(
    paths: Iterable[str | Path],
    settings: Settings,
    *,
    simulate: bool = False,
    events: int | None = None,
    days: float | None = None,
    rate: float | None = None,
    mapping: str = "shopstream",
    db: Path | None = None,
    progress: Progress | None = None,
) -> StreamReport:
    """Stream files (a file, directory or glob each) or the simulator into the store at ``db``."""
    source: Source
    if simulate:
        source, name = SimulatorSource(settings.generator, events=events, days=days, rate=rate), "simulator"
    else:
        ingest = settings.ingest
        source = FileSource.of(paths, block_bytes=ingest.batch_bytes, parquet_rows=ingest.batch_rows)
        name = "file"
    connection = store.connect(db if db is not None else settings.ingest.db)
    try:
        return stream_source(connection, source, name, settings, mapping=mapping, progress=progress)
    finally:
        connection.close()


def follow(
    paths: Iterable[str | Path],
    settings: Settings,
    *,
    mapping: str = "shopstream",
    db: Path | None = None,
    poll_seconds: float = 1.0,
    progress: Progress | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> StreamReport:
    """Stream files as they appear under ``paths`` until ``stop()`` says so (or Ctrl-C).

    Each poll takes the files whose size and modification time have not changed since
    the previous poll, so a file still being written waits (writing elsewhere and moving
    the file in is best). An events file already read to its end is not read again;
    a changed entity file is loaded again.
    """
    wanted = list(paths)
    ingest = settings.ingest
    connection = store.connect(db if db is not None else ingest.db)
    total = IngestReport()
    previous: dict[Path, tuple[int, float]] = {}
    taken: dict[Path, tuple[int, float]] = {}
    try:
        with _pipeline(connection, settings, mapping, progress) as (ingestor, committed):
            try:
                while not stop():
                    current = {p: _looks(p) for p in expand(wanted)}
                    steady = [
                        p for p, seen in current.items() if previous.get(p) == seen and taken.get(p) != seen
                    ]
                    fresh = [
                        p
                        for p in steady
                        if not is_events_file(p) or not store.checkpoint(connection, str(p.resolve()))[1]
                    ]
                    taken.update({p: current[p] for p in steady})
                    previous = current
                    if fresh:
                        source = FileSource.of(
                            fresh, block_bytes=ingest.batch_bytes, parquet_rows=ingest.batch_rows
                        )
                        total.extend(ingestor.run(source, "file", committed))
                    else:
                        time.sleep(poll_seconds)
            except KeyboardInterrupt:  # Ctrl-C: the batch in flight was rolled back, the rest is committed
                pass
        return StreamReport(total, summary(connection))
    finally:
        connection.close()


def _looks(path: Path) -> tuple[int, float]:
    """What a poll sees of a file: its size and modification time."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime
