"""Sources: where records come from, as Arrow batches with a resumable position.

Every source yields :class:`RawBatch` es. A batch belongs to one *unit* (a file, the
simulator run, the collector) and covers the records ``[start, end)`` of it, so a
restart resumes after the last committed batch: a source cuts its units into the
same batches every time, and the pipeline skips those it has already committed.

- :class:`SimulatorSource`: the in-process shop simulator (typed Arrow).
- :class:`FileSource`: JSON Lines, CSV or Parquet; a file, a directory or a glob;
  ``.gz`` accepted. In a directory written by ``shopstream generate`` the entity
  files (customers, products, stores) are loaded as dimensions and ``labels.*``
  (the generator's ground truth) is never read.
- :class:`PayloadSource`: raw JSON payloads as the HTTP collector receives them: a
  JSON array of events, one event object, or JSON Lines.
"""

from __future__ import annotations

import glob
import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shopstream.generator import Simulator
from shopstream.generator.files import live_settings, released
from shopstream.ingest.decode import POSITION, RAW, RECORDS, line_offsets, split_lines
from shopstream.ingest.errors import IngestError
from shopstream.settings import GeneratorSettings, IngestSettings

Kind = Literal["json", "columns"]
"""``json``: records hold JSON text in ``_raw``; ``columns``: records hold the values."""
ENTITY_KINDS = ("customers", "products", "stores")
GROUND_TRUTH = "labels"
_DEFAULTS = IngestSettings()
"""Batch sizes when none are given (settings ``ingest.batch_bytes`` and ``ingest.batch_rows``)."""


@dataclass(frozen=True)
class RawBatch:
    """Records read from one unit of a source, positions ``[start, end)``."""

    unit: str
    start: int
    end: int
    records: pa.Table
    kind: Kind
    final: bool = False
    """The unit ends with this batch."""


@dataclass(frozen=True)
class Entities:
    """A dimension table (customers, products or stores) read from a source."""

    kind: str
    unit: str
    table: pa.Table


def records_table(columns: pa.Table | None, start: int, raw: pa.Array | None = None) -> pa.Table:
    """``columns`` (or just ``raw`` text) with the bookkeeping columns: position, raw, records."""
    n = len(raw) if columns is None and raw is not None else (columns.num_rows if columns else 0)
    bookkeeping = {
        POSITION: pa.array(np.arange(start, start + n, dtype=np.int64)),
        RAW: (raw if raw is not None else pa.nulls(n)).cast(pa.large_string()),
        RECORDS: pa.array(np.ones(n, dtype=np.int64)),
    }
    if columns is None:
        return pa.table(bookkeeping)
    for name, values in bookkeeping.items():
        columns = columns.append_column(name, values)
    return columns


def json_lines(data: bytes | memoryview, start: int, unit: str, final: bool) -> RawBatch:
    """A batch of JSON lines (one record per line; blank lines are records too)."""
    lines = split_lines(data)
    return RawBatch(unit, start, start + len(lines), records_table(None, start, lines), "json", final)


class SimulatorSource:
    """The in-process shop simulator: ``events`` events or ``days`` days of the feed.

    With ``rate`` it runs live: the feed starts now and each event is released when the
    clock reaches its time, at about ``rate`` events per second (no end if neither
    ``events`` nor ``days`` is given).
    """

    def __init__(
        self,
        settings: GeneratorSettings,
        *,
        events: int | None = None,
        days: float | None = None,
        rate: float | None = None,
    ):
        self.lag_us: int | None = None
        if rate is not None:
            settings, self.lag_us = live_settings(settings, rate)
            if events is None and days is None:
                days = 36_500.0
        self.simulator = Simulator(settings)
        self.unit = f"simulator:seed={settings.seed}"
        if rate is not None:
            self.unit += f":live@{settings.start.isoformat()}"
        self.events, self.days = events, days

    def entities(self) -> list[Entities]:
        world = self.simulator.world
        tables = {"customers": world.customers, "products": world.products, "stores": world.stores}
        return [Entities(kind, self.unit, table) for kind, table in tables.items()]

    def batches(self) -> Iterator[RawBatch]:
        batches = self.simulator.batches(events=self.events, days=self.days)
        if self.lag_us is not None:
            batches = released(batches, self.lag_us)
        previous = next(batches, None)
        while previous is not None:
            current = next(batches, None)
            n = previous.events.num_rows
            yield RawBatch(
                self.unit,
                previous.offset,
                previous.offset + n,
                records_table(previous.events, previous.offset),
                "columns",
                final=current is None,
            )
            previous = current


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    formats = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
    if ext not in formats:
        raise IngestError(
            f"{path}: unknown file type; use .jsonl, .ndjson, .json, .csv or .parquet (optionally .gz)"
        )
    return formats[ext]


def _stem(path: Path) -> str:
    return path.name.split(".")[0].lower()


def is_events_file(path: Path) -> bool:
    """Whether ``path`` holds events (not an entity table, not the simulator's ground truth)."""
    return _stem(path) not in (*ENTITY_KINDS, GROUND_TRUTH)


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named by ``paths``: files, directories (their files, sorted) or glob patterns."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(str(given), recursive=True) if Path(p).is_file())
            if not found:
                raise IngestError(f"{given}: no such file, directory or matching files")
        files.extend(found)
    return files


def _open(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


@dataclass
class FileSource:
    """Files of shop events (and, in a generated directory, its entity files)."""

    paths: list[Path]
    block_bytes: int = _DEFAULTS.batch_bytes
    parquet_rows: int = _DEFAULTS.batch_rows
    skipped: list[Path] = field(default_factory=list)
    """Files not read: the generator's ground-truth labels."""

    @classmethod
    def of(
        cls,
        paths: Iterable[str | Path],
        block_bytes: int = _DEFAULTS.batch_bytes,
        parquet_rows: int = _DEFAULTS.batch_rows,
    ) -> FileSource:
        files = expand(paths)
        for path in files:
            _format(path)  # reject unknown types before anything is read
        return cls(files, block_bytes, parquet_rows)

    def _events_files(self) -> list[Path]:
        return [p for p in self.paths if is_events_file(p)]

    def entities(self) -> list[Entities]:
        from shopstream.ingest.entities import read_entities

        self.skipped = [p for p in self.paths if _stem(p) == GROUND_TRUTH]
        return [
            Entities(_stem(p), str(p.resolve()), read_entities(p, _format(p)))
            for p in self.paths
            if _stem(p) in ENTITY_KINDS
        ]

    def batches(self) -> Iterator[RawBatch]:
        for path in self._events_files():
            fmt = _format(path)
            unit = str(path.resolve())
            if fmt == "jsonl":
                yield from self._json_lines(path, unit)
            elif fmt == "csv":
                yield from self._csv(path, unit)
            else:
                yield from self._parquet(path, unit)

    def _json_lines(self, path: Path, unit: str) -> Iterator[RawBatch]:
        start = 0
        for data, last in text_blocks(path, self.block_bytes):
            batch = json_lines(data, start, unit, final=last)
            yield batch
            start = batch.end

    def _csv(self, path: Path, unit: str) -> Iterator[RawBatch]:
        start, header = 0, b""
        for view, last in text_blocks(path, self.block_bytes):
            data = bytes(view)
            if not header:
                cut = data.find(b"\n") + 1 or len(data)
                header, data = data[:cut], data[cut:]
                if not header.strip():
                    raise IngestError(f"{path}: a CSV file must start with a header line")
            batch = csv_block(header, data, start, unit, final=last)
            yield batch
            start = batch.end

    def _parquet(self, path: Path, unit: str) -> Iterator[RawBatch]:
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise IngestError(f"{path}: not a readable Parquet file ({error})") from None
        start, total = 0, parquet.metadata.num_rows
        for batch in parquet.iter_batches(batch_size=self.parquet_rows):
            table = pa.Table.from_batches([batch])
            end = start + table.num_rows
            yield RawBatch(unit, start, end, records_table(table, start), "columns", final=end == total)
            start = end
        if total == 0:
            yield RawBatch(unit, 0, 0, records_table(None, 0), "columns", final=True)


def text_blocks(path: Path, block_bytes: int) -> Iterator[tuple[memoryview, bool]]:
    """A text file (gzip or not) in blocks that end at a newline: ``(data, is_last)``.

    Each block is read into a buffer of its own and handed out as a view: the text is
    not copied (only the part line after a block's last newline moves to the next).
    """
    with _open(path) as handle:
        data, end = _fill(handle, b"", block_bytes)
        while True:
            # every view starts at its buffer's start, so the buffer's rfind serves the view
            cut = data.obj.rfind(b"\n", 0, len(data)) + 1  # type: ignore[attr-defined]
            if end:
                yield data, True
                return
            if not cut:  # a line longer than a block: read on
                data, end = _fill(handle, data, block_bytes)
                continue
            nxt, end = _fill(handle, data[cut:], block_bytes)
            if end and len(nxt) == len(data) - cut:  # the file ended with this block
                yield data, True
                return
            yield data[:cut], False
            data = nxt


def _fill(handle: IO[bytes], carry: bytes | memoryview, size: int) -> tuple[memoryview, bool]:
    """``carry`` and up to ``size`` more bytes of ``handle`` in a new buffer, and whether
    the file ended."""
    buffer = bytearray(len(carry) + size)
    buffer[: len(carry)] = carry
    view, filled = memoryview(buffer), len(carry)
    while filled < len(buffer):
        read = handle.readinto(view[filled:])  # type: ignore[attr-defined]
        if not read:
            return view[:filled], True
        filled += read
    return view, False


def _parse_csv(header: bytes, body: bytes, columns: list[str]) -> tuple[pa.Table, list[int]]:
    """CSV text (without its header) as string columns, and the indices of rows it refused."""
    rejected: list[int] = []

    def reject(row: pacsv.InvalidRow) -> str:
        rejected.append(-1 if row.number is None else row.number - 2)
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(header.rstrip(b"\r\n") + b"\n" + body),
        read_options=pacsv.ReadOptions(use_threads=False, column_names=columns, skip_rows=1),
        parse_options=pacsv.ParseOptions(invalid_row_handler=reject, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in columns}, strings_can_be_null=True
        ),
    )
    return table, rejected


def _utf8(data: bytes, offsets: np.ndarray) -> np.ndarray:
    """Per line of ``data``: whether it is valid UTF-8 (pyarrow cannot report the others)."""
    try:
        data.decode("utf-8")
        return np.ones(len(offsets) - 1, dtype=bool)
    except UnicodeDecodeError:  # error path: check line by line
        return np.array(
            [_decodes(data[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1)], dtype=bool
        )


def _decodes(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parses(header: bytes, line: bytes, columns: list[str]) -> bool:
    try:
        table, rejected = _parse_csv(header, line, columns)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return False
    return table.num_rows == 1 and not rejected


def csv_block(header: bytes, data: bytes, start: int, unit: str, final: bool) -> RawBatch:
    """CSV lines as text columns (named by ``header``); bad lines become malformed records.

    A record is one line: a line with an odd number of quote characters (a value cut
    short, or a newline inside a value) or the wrong number of cells is kept, with its
    text, as a malformed record at its own position. Everything is whole-block numpy
    and pyarrow work; pyarrow's invalid-row handler runs only for bad rows.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    lines = split_lines(data)
    offsets = line_offsets(data)
    n = len(lines)
    quotes = np.add.reduceat((buffer == 34).astype(np.int64), offsets[:-1]) if n else np.zeros(0, np.int64)
    # pyarrow ends a row at a carriage return too: a line with one not before its newline
    # would be two rows, so it is malformed like a newline inside a value
    lone_cr = (buffer == 13) & (np.append(buffer[1:], np.uint8(0)) != 10)
    crs = np.add.reduceat(lone_cr.astype(np.int64), offsets[:-1]) if n else np.zeros(0, np.int64)
    balanced = (quotes % 2 == 0) & (crs == 0) & _utf8(data, offsets)
    try:
        columns = pacsv.read_csv(pa.py_buffer(header)).column_names
    except pa.ArrowInvalid as error:
        raise IngestError(f"{unit}: the CSV header does not parse ({error})") from None
    good = np.flatnonzero(balanced)
    try:
        table, rejected = _parse_csv(header, buffer[np.repeat(balanced, np.diff(offsets))].tobytes(), columns)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        # Rare (bytes that are not UTF-8, rows pyarrow cannot even hand to the handler):
        # find the lines that parse on their own, on this error path only.
        alone = [_parses(header, data[offsets[i] : offsets[i + 1]], columns) for i in good]
        good = good[np.array(alone, dtype=bool)]
        keep = np.zeros(n, dtype=bool)
        keep[good] = True
        table, rejected = _parse_csv(header, buffer[np.repeat(keep, np.diff(offsets))].tobytes(), columns)
    bad = np.ones(n, dtype=bool)
    bad[good] = False
    bad[good[np.array(rejected, dtype=np.int64)]] = True
    records = (
        records_table(table, 0)
        .set_column(table.num_columns, POSITION, pa.array(start + np.flatnonzero(~bad)))
        .append_column("_malformed", pa.array(np.zeros(table.num_rows, bool)))
    )
    if bad.any():
        where = np.flatnonzero(bad)
        malformed = pa.table(
            {
                **{name: pa.nulls(len(where), pa.string()) for name in table.column_names},
                POSITION: pa.array(start + where),
                RAW: pc.take(lines, pa.array(where)),
                RECORDS: pa.array(np.ones(len(where), np.int64)),
                "_malformed": pa.array(np.ones(len(where), bool)),
            }
        )
        records = pa.concat_tables([records, malformed.cast(records.schema)]).sort_by(POSITION)
    return RawBatch(unit, start, start + n, records, "columns", final)


class PayloadSource:
    """Raw JSON payloads, as the collector hands them over: arrays, objects or JSON Lines.

    Each payload is its own unit (``name:#n``); a JSON array is split into one record
    per element by DuckDB, anything else is read as JSON Lines.
    """

    def __init__(self, payloads: Iterable[bytes], name: str = "collector"):
        self.payloads, self.name = payloads, name

    def entities(self) -> list[Entities]:
        return []

    def batches(self) -> Iterator[RawBatch]:
        import duckdb

        connection = duckdb.connect()
        for number, payload in enumerate(self.payloads):
            unit = f"{self.name}:#{number}"
            if payload.lstrip()[:1] == b"[":
                try:
                    elements = connection.execute(
                        "SELECT list_transform(json_extract($1::JSON, '$[*]'), lambda x: x::VARCHAR)",
                        [payload.decode("utf-8")],
                    ).fetchall()[0][0]
                except (duckdb.Error, UnicodeDecodeError):
                    elements = None  # not a JSON array: read it as lines, which quarantines it
                if elements is not None:
                    items = pa.array(elements, pa.large_string())
                    yield RawBatch(unit, 0, len(items), records_table(None, 0, items), "json", True)
                    continue
            yield json_lines(payload, 0, unit, final=True)
        connection.close()
