"""The ingestion pipeline: decode, validate, dedupe and persist one batch at a time.

For each :class:`~shopstream.ingest.sources.RawBatch` the core decides every
record's fate with whole-batch operations (DuckDB SQL and ``pyarrow.compute``):
accepted, quarantined with a :class:`~shopstream.ingest.rules.Reason`, or a
duplicate. The counts, in source records, make a ledger row, and
``received = accepted + quarantined + duplicates`` is checked before anything is
written: a violation raises :class:`~shopstream.ingest.errors.LedgerError`.

**Policies.**

- *Dedupe* is by ``event_id``. Ids accepted within the dedupe horizon
  (``ingest.dedupe_horizon_days`` of event time behind the newest accepted event)
  are kept in ``dedupe_keys``; older keys are pruned, so the hot set stays bounded
  however long the stream runs. An event older than the horizon (late, or history
  ingested again) is looked up in ``events`` itself, over its time range only:
  slower, never wrong. A refused record
  whose text is already in the quarantine is a duplicate too, so ingesting the same
  input twice changes nothing.
- *Facts before dimensions* are held, not lost: an event naming a product or customer
  shopstream does not know goes to the quarantine (``unknown_product`` /
  ``unknown_customer``) and is replayed automatically as soon as that product or
  customer arrives (an entity file, ``product_updated`` or ``user_registered``).

**Commit order of a batch** (:meth:`Ingestor.commit`), one DuckDB transaction. The
batch was read and checked before (:meth:`Ingestor.check`; in a run, on a second
thread while the previous batch committed); then:

1. skip the batch if the unit's checkpoint already covers it (a resumed run);
2. decide each record's fate and check the ledger's invariant; start writing the
   accepted events as the batch's landing file, on a thread
   (:mod:`shopstream.ingest.landing`);
3. insert their ids into ``dedupe_keys`` and new product/customer ids into
   ``dimension_keys``;
4. insert the refused records into ``quarantine``;
5. insert the ledger row;
6. move the unit's checkpoint to the batch's end;
7. hand the accepted events to the stream, if one rides on this ingestion
   (:mod:`shopstream.stream.engine` numbers its own steps);
8. wait for the landing file (flushed to disk), list it in ``event_files`` and
   redefine ``events`` over the listed files; commit.

A crash before the commit leaves nothing of the batch (a landing file nobody lists is
deleted when the store is next opened); the restart reads the same batch again. After
the commit, held records whose dimension arrived are replayed (their own batch and
transaction).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.contract import EVENT_COLUMNS
from shopstream.ingest import landing, store
from shopstream.ingest.decode import (
    POSITION,
    RAW,
    RECORDS,
    SOURCE_ROW,
    conform_sql,
    json_records_sql,
    literals,
    quote,
)
from shopstream.ingest.errors import LedgerError
from shopstream.ingest.mapping import Mapping
from shopstream.ingest.rules import HELD, MESSAGES, first_problem_sql
from shopstream.ingest.sources import Entities, RawBatch
from shopstream.settings import IngestSettings

Progress = Callable[[int], None]
_T = TypeVar("_T")
CONTRACT = tuple(c.name for c in EVENT_COLUMNS)
NESTED = frozenset(c.name for c in EVENT_COLUMNS if c.name == "items")
_SCALAR_TEXT = " ".join(
    f"WHEN '{c.name}' THEN {quote(c.name)}::VARCHAR" for c in EVENT_COLUMNS if c.name not in NESTED
)


class BatchProcessor(Protocol):
    """What else a batch feeds (the stream): called inside the batch's transaction."""

    def process(self, accepted: pa.Table, now: datetime) -> None: ...


class Source(Protocol):
    """What the pipeline reads: entity tables first, then batches of events."""

    def entities(self) -> list[Entities]: ...

    def batches(self) -> Iterable[RawBatch]: ...


@dataclass
class BatchLedger:
    """The accounting of one batch, in source records."""

    source: str
    unit: str
    start: int
    end: int
    received: int
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        """Raise :class:`LedgerError` unless received = accepted + quarantined + duplicates."""
        if self.received != self.accepted + self.quarantined + self.duplicates or self.quarantined != sum(
            self.by_reason.values()
        ):
            raise LedgerError(
                f"ledger does not balance for {self.unit} [{self.start}, {self.end}): "
                f"received {self.received} != accepted {self.accepted}"
                f" + quarantined {self.quarantined} + duplicates {self.duplicates}"
                f" (by reason {self.by_reason}); this is a bug in shopstream: please report it"
            )


@dataclass
class IngestReport:
    """What a run ingested: the ledger summed over its batches."""

    batches: int = 0
    received: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    entities: dict[str, int] = field(default_factory=dict)
    resumed_units: list[str] = field(default_factory=list)

    def add(self, ledger: BatchLedger) -> None:
        """Count one more batch."""
        self._tally(1, ledger)

    def extend(self, other: IngestReport) -> None:
        """Add another run's report to this one (a follow loop's polls)."""
        self._tally(other.batches, other)
        for kind, rows in other.entities.items():
            self.entities[kind] = self.entities.get(kind, 0) + rows
        self.resumed_units.extend(other.resumed_units)

    def _tally(self, batches: int, counts: BatchLedger | IngestReport) -> None:
        self.batches += batches
        self.received += counts.received
        self.accepted += counts.accepted
        self.quarantined += counts.quarantined
        self.duplicates += counts.duplicates
        self.by_reason.update(counts.by_reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "received": self.received,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "by_reason": dict(sorted(self.by_reason.items())),
            "entities": self.entities,
            "resumed_units": self.resumed_units,
        }


@dataclass(frozen=True)
class Checked:
    """A batch decoded and checked at ``now``: ``table`` has a row per record with its
    contract columns, bookkeeping, ``_row`` and first problem (``_reason``, ``_field``);
    ``records`` (the batch's records, mapped if a mapping applies) holds their text as
    received (``_raw``) at each row's ``_source_row``; only refused records need it."""

    batch: RawBatch
    now: datetime
    table: pa.Table
    records: pa.Table


def _ahead(items: Iterator[_T]) -> Generator[_T, None, None]:
    """``items``, each next one produced on a worker thread while the caller uses this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield item


def _from(batch: RawBatch, position: int) -> RawBatch:
    """The part of ``batch`` from ``position`` on (records are in position order)."""
    positions = batch.records.column(POSITION)
    keep = batch.records.filter(pc.greater_equal(positions, position))
    return RawBatch(batch.unit, position, batch.end, keep, batch.kind, batch.final)


def _until(batch: RawBatch, rows: int) -> RawBatch | None:
    """The first ``rows`` records of ``batch`` as a batch of their own (None if none)."""
    if rows == 0:
        return None
    head = batch.records.slice(0, rows)
    end = int(head.column(POSITION)[rows - 1].as_py()) + 1
    return RawBatch(batch.unit, batch.start, end, head, batch.kind, final=False)


_DECIDING = [
    "_row",
    POSITION,
    "_duplicate",
    "_reason",
    "_field",
    "event_id",
    "event_type",
    "product_id",
    "user_id",
    "items",
]
"""The columns of a checked batch that its outcome (``batch_outcome.sql``) reads."""


def _in_row_order(decided: pa.Table, rows: int) -> pa.Table:
    """``decided`` (a row per record, any order) in ``_row`` order: a scatter, not a sort."""
    if decided.num_rows != rows:
        raise LedgerError(f"the batch outcome has {decided.num_rows} rows for {rows} records; this is a bug")
    order = np.empty(decided.num_rows, dtype=np.int64)
    order[decided.column("_row").to_numpy()] = np.arange(decided.num_rows)
    return decided.take(order)


def _kept_as_given(types: dict[str, pa.DataType]) -> list[str]:
    """The contract columns a typed batch (``types``) already holds in the contract's own
    type, except the line items and ``received_ts`` (ingestion sets it): decoding checks
    them but need not return them. (Categories stay dictionary-encoded, as the contract
    has them; decoded text gives plain text, which DuckDB and Parquet read alike.)"""
    return [
        c.name
        for c in EVENT_COLUMNS
        if types.get(c.name) == c.type and c.name != "received_ts" and not pa.types.is_list(c.type)
    ]


def _with_given(decoded: pa.Table, records: pa.Table, kept: list[str]) -> pa.Table:
    """``decoded`` with the ``kept`` columns of ``records`` added in its row order (each
    row's ``_source_row``; usually the records' own order, which needs no copy).

    >>> records = pa.table({"page": ["/a", "/b", "/c"]})
    >>> decoded = pa.table({SOURCE_ROW: pa.array([2, 0, 1], pa.int64()), "event_id": ["c", "a", "b"]})
    >>> _with_given(decoded, records, ["page"]).column("page").to_pylist()
    ['/c', '/a', '/b']
    """
    if not kept:  # text, or a typed batch with none of the contract's types
        return decoded
    order = decoded.column(SOURCE_ROW).to_numpy()
    given = records.select(kept)
    if not np.array_equal(order, np.arange(records.num_rows)):
        given = given.take(order)
    for name in kept:
        decoded = decoded.append_column(name, given.column(name))
    return decoded


def _total(values: pa.Array | pa.ChunkedArray) -> int:
    """The sum of an integer column; 0 when it is empty."""
    return int(pc.sum(values).as_py() or 0)


class Ingestor:
    """Runs sources into a store: one transaction per batch, the ledger checked on each."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        settings: IngestSettings,
        *,
        mapping: Mapping | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        processor: BatchProcessor | None = None,
    ) -> None:
        self.connection = connection
        self.processor = processor
        self.settings = settings
        self.mapping = mapping
        self.clock = clock
        self._resume: dict[str, int] = {}
        self._pruned: datetime | None = None
        connection.register(
            "_messages",
            pa.table({"reason": [r.value for r in MESSAGES], "template": list(MESSAGES.values())}),
        )

    # -- running -------------------------------------------------------------------------------
    def run(self, source: Source, name: str, progress: Progress | None = None) -> IngestReport:
        """Ingest everything ``source`` has; ``name`` labels it in the ledger and quarantine.

        A batch moves through three threads: the one after next is read on one, the next
        is checked on another (with a cursor of its own; checking needs nothing a commit
        writes) while this one commits.
        """
        report = IngestReport()
        for entities in source.entities():
            report.entities[entities.kind] = report.entities.get(entities.kind, 0) + self.load_entities(
                entities
            )
        if report.entities:
            report.add(self.retry_held())
        cursor = store.cursor(self.connection)
        # closing the look-ahead first waits for its thread, which uses the cursor
        with (
            closing(cursor),
            closing(_ahead(iter(source.batches()))) as read,
            closing(_ahead(self._checked_batches(read, cursor, report))) as ahead,
        ):
            for checked in ahead:
                ledger = self.commit(checked, name)
                report.add(ledger)
                if progress is not None:
                    progress(ledger.received)
                held = self.retry_held()
                if held.received:
                    report.add(held)
        return report

    def _checked_batches(
        self, batches: Iterable[RawBatch], connection: duckdb.DuckDBPyConnection, report: IngestReport
    ) -> Iterator[Checked]:
        """The batches still to ingest (resumed runs skip what is committed), checked."""
        for batch in self._whole_events(batches, connection):
            resume = self._start_of(batch, report, connection)
            if resume >= batch.end and batch.end > batch.start:
                continue
            if resume > batch.start:
                batch = _from(batch, resume)
            yield self.check(batch, connection)

    def _whole_events(
        self, batches: Iterable[RawBatch], connection: duckdb.DuckDBPyConnection
    ) -> Iterator[RawBatch]:
        """Batches cut so that the lines of one event never straddle two batches.

        With a ``lines`` mapping the rows at the end of a batch that share the last
        event id are held back and put in front of the next batch of the same unit.
        """
        if self.mapping is None or not self.mapping.lines:
            yield from batches
            return
        pending: RawBatch | None = None
        for batch in batches:
            if pending is not None and pending.unit == batch.unit:
                records = pa.concat_tables([pending.records, batch.records.cast(pending.records.schema)])
                batch = RawBatch(batch.unit, pending.start, batch.end, records, batch.kind, batch.final)
            elif pending is not None:
                yield pending
            pending = None
            if batch.final or batch.kind != "columns" or not batch.records.num_rows:
                yield batch
                continue
            ids = self.mapping.event_ids(connection, batch.records)
            last = ids[len(ids) - 1]
            same = pc.fill_null(pc.equal(ids, last), False) if last.is_valid else pc.is_null(ids)
            differs = pc.indices_nonzero(pc.invert(same))
            cut = int(differs[len(differs) - 1].as_py()) + 1 if len(differs) else 0
            head = _until(batch, cut)
            if head is not None:
                yield head
            pending = _from(batch, batch.start + cut if head is None else head.end)
        if pending is not None:
            yield pending

    def _start_of(self, batch: RawBatch, report: IngestReport, connection: duckdb.DuckDBPyConnection) -> int:
        """Where this run resumes in ``batch.unit``: its checkpoint if an earlier run stopped part-way."""
        if batch.unit not in self._resume:
            position, complete = store.checkpoint(connection, batch.unit)
            self._resume[batch.unit] = 0 if complete else position
            if position and not complete:
                report.resumed_units.append(batch.unit)
        return self._resume[batch.unit]

    # -- one batch -----------------------------------------------------------------------------
    def check(self, batch: RawBatch, connection: duckdb.DuckDBPyConnection) -> Checked:
        """The batch decoded to the contract, with each record's first problem (``_reason``,
        ``_field``), at the ingestion clock's now; ``connection`` runs the SQL."""
        now = self.clock()
        records = batch.records
        kind = batch.kind
        if self.mapping is not None:
            records, kind = self.mapping.apply(connection, records, kind), "columns"
        records = records.append_column(SOURCE_ROW, pa.array(np.arange(records.num_rows, dtype=np.int64)))
        received = f"TIMESTAMPTZ '{now.isoformat()}'"
        if kind == "json":
            relation = f"({json_records_sql('_records_in', CONTRACT, NESTED)})"
            types = {name: pa.string() for name in CONTRACT} | {
                "_malformed": pa.bool_(),
                SOURCE_ROW: pa.int64(),
            }
        else:
            relation, types = "_records_in", {f.name: f.type for f in records.schema}
        skew = timedelta(seconds=self.settings.clock_skew_seconds)
        checks = first_problem_sql(f"({conform_sql(relation, types, received)})", received, skew)
        # text stays in records, and so do columns already in their decoded type: copying costs
        kept = _kept_as_given(types) if kind != "json" else []
        query = f"SELECT * EXCLUDE ({', '.join([RAW, *map(quote, kept)])}) FROM ({checks})"
        connection.register("_records_in", records)
        try:
            checked = _with_given(connection.sql(query).to_arrow_table(), records, kept)
        finally:
            connection.unregister("_records_in")
        rows = pa.array(np.arange(checked.num_rows, dtype=np.int64))
        return Checked(batch, now, checked.append_column("_row", rows), records)

    def _derive_dimensions(self) -> None:
        """The batch's own products and customers become known (mappings that define them)."""
        self.connection.execute(
            """
            INSERT INTO dimension_keys
            SELECT DISTINCT kind, id FROM (
                SELECT 'product' AS kind, unnest(items).product_id AS id FROM _checked WHERE _reason IS NULL
                UNION ALL SELECT 'product', product_id FROM _checked WHERE _reason IS NULL
                UNION ALL SELECT 'customer', user_id FROM _checked WHERE _reason IS NULL
            )
            WHERE id IS NOT NULL AND (kind, id) NOT IN (SELECT (kind, id) FROM dimension_keys)
            """
        )

    def ingest_batch(self, batch: RawBatch, source: str, *, replacing: pa.Array | None = None) -> BatchLedger:
        """Check and commit one batch (see the module's commit order)."""
        return self.commit(self.check(batch, self.connection), source, replacing=replacing)

    def commit(self, checked: Checked, source: str, *, replacing: pa.Array | None = None) -> BatchLedger:
        """Decide and commit one checked batch (see the module's commit order).

        ``replacing`` (replay) names quarantine rows this batch re-reads: they are
        removed in the same transaction, and re-inserted if still refused.
        """
        batch, now, table = checked.batch, checked.now, checked.table
        con = self.connection
        # only the columns the outcome reads: DuckDB's scan of a registered table costs per column
        con.register("_checked", table.select(_DECIDING))
        try:
            with store.transaction(con):
                if replacing is not None:
                    con.register("_replacing", pa.table({"quarantine_id": replacing}))
                    con.execute(
                        "DELETE FROM quarantine WHERE quarantine_id IN (SELECT quarantine_id FROM _replacing)"
                    )
                if self.mapping is not None and self.mapping.derive_dimensions:
                    self._derive_dimensions()
                con.register("_old_seen", self._old_seen(table))
                decided = _in_row_order(con.sql(store.sql("batch_outcome")).to_arrow_table(), table.num_rows)
                outcome = decided.column("_outcome")
                is_accepted = pc.equal(outcome, "accepted")
                accepted = table.select(list(CONTRACT)).filter(is_accepted)
                refused = self._refused(checked, decided)
                ledger = self._count(batch, source, table, outcome, is_accepted, refused)
                ledger.check()
                batch_id = self._next_batch_id()
                landed = landing.land(con, accepted, batch_id)
                self._write(batch, batch_id, source, ledger, now, accepted, refused)
                if self.processor is not None:
                    self.processor.process(accepted, now)
                landed.finish(con)
        finally:
            con.unregister("_checked")
            con.unregister("_old_seen")
        self._prune()
        landing.compact(con, self.settings.compact_files, self.settings.compact_below_events)
        return ledger

    def _refused(self, checked: Checked, decided: pa.Table) -> pa.Table:
        """The quarantined records with their raw text, fingerprint and whether each is a copy."""
        rows = pc.indices_nonzero(pc.equal(decided.column("_outcome"), "quarantined"))
        refused = checked.table.take(rows).drop_columns(["_reason", "_field"])
        for name in ("_reason", "_field", "_ref_value"):
            refused = refused.append_column(name, decided.column(name).take(rows))
        sources = refused.column(SOURCE_ROW)
        raw = checked.records.column(RAW).take(sources).cast(pa.large_string())
        missing = pc.indices_nonzero(pc.is_null(raw))
        if len(missing) and self.mapping is None:
            raw = self._rebuilt(checked.records.take(pc.take(sources, missing)), raw, missing)
        # only what the fingerprint needs goes to DuckDB: a wide table costs per column
        text = pc.utf8_rtrim(raw, characters="\r\n")
        order = pa.array(np.arange(refused.num_rows, dtype=np.int64))
        self.connection.register(
            "_refused_in", pa.table({"_i": order, POSITION: refused.column(POSITION), "text": text})
        )
        try:
            marks = self.connection.sql(store.sql("refused")).to_arrow_table()
        finally:
            self.connection.unregister("_refused_in")
        return (
            refused.append_column("raw", raw)
            .append_column("fingerprint", marks.column("fingerprint"))
            .append_column("_copy", marks.column("_copy"))
        )

    def _rebuilt(self, records: pa.Table, raw: pa.ChunkedArray, missing: pa.Array) -> pa.Array:
        """``raw`` with the typed records (Parquet, CSV, simulator) at ``missing`` as JSON text."""
        columns = [n for n in records.column_names if not n.startswith("_")]
        self.connection.register("_rebuild", records.select(columns))
        try:
            fields = ", ".join(f"{quote(n)} := {quote(n)}" for n in columns)
            query = f"SELECT to_json(struct_pack({fields}))::VARCHAR AS j FROM _rebuild"
            rebuilt = self.connection.sql(query).to_arrow_table().column("j")
        finally:
            self.connection.unregister("_rebuild")
        values = raw.to_numpy(zero_copy_only=False).astype(object)
        values[missing.to_numpy()] = rebuilt.to_numpy(zero_copy_only=False)
        return pa.array(values, pa.large_string())

    def _count(
        self,
        batch: RawBatch,
        source: str,
        checked: pa.Table,
        outcome: pa.ChunkedArray,
        is_accepted: pa.ChunkedArray,
        refused: pa.Table,
    ) -> BatchLedger:
        """The batch's ledger row: every record counted once, in source records."""
        copy = refused.column("_copy")
        held = refused.filter(pc.invert(copy))
        by_reason: Counter[str] = Counter()
        if held.num_rows:
            sums = held.group_by("_reason").aggregate([(RECORDS, "sum")]).to_pylist()
            by_reason.update({str(row["_reason"]): int(row[f"{RECORDS}_sum"]) for row in sums})
        duplicates = _total(pc.filter(checked.column(RECORDS), pc.equal(outcome, "duplicate")))
        return BatchLedger(
            source=source,
            unit=batch.unit,
            start=batch.start,
            end=batch.end,
            received=_total(checked.column(RECORDS)),
            accepted=_total(pc.filter(checked.column(RECORDS), is_accepted)),
            quarantined=sum(by_reason.values()),
            duplicates=duplicates + _total(pc.filter(refused.column(RECORDS), copy)),
            by_reason=dict(sorted(by_reason.items())),
        )

    def _write(
        self,
        batch: RawBatch,
        batch_id: int,
        source: str,
        ledger: BatchLedger,
        now: datetime,
        accepted: pa.Table,
        refused: pa.Table,
    ) -> None:
        """Steps 3-6 of the commit order (the caller opens and commits the transaction)."""
        con = self.connection
        con.register("_accepted", accepted)
        con.register("_refused", refused.filter(pc.invert(refused.column("_copy"))))
        try:
            con.execute("INSERT INTO dedupe_keys SELECT event_id, event_ts FROM _accepted")
            for kind, event_type, key in (
                ("customer", "user_registered", "user_id"),
                ("product", "product_updated", "product_id"),
            ):
                con.execute(
                    f"INSERT INTO dimension_keys SELECT DISTINCT '{kind}', {key} FROM _accepted "
                    f"WHERE event_type = '{event_type}' AND {key} IS NOT NULL "
                    f"AND {key} NOT IN (SELECT id FROM dimension_keys WHERE kind = '{kind}')"
                )
            mapping = None if self.mapping is None else self.mapping.name
            con.execute(
                f"""
                INSERT INTO quarantine
                SELECT left(md5(? || '#' || {POSITION}::VARCHAR), 16), ?, ?, {POSITION}, {RECORDS}, raw,
                       fingerprint, ?, _reason, _field,
                       coalesce(_ref_value, CASE _field {_SCALAR_TEXT} END),
                       replace(m.template, '{{field}}', coalesce(_field, 'the record')),
                       event_id, ?, ?
                FROM _refused JOIN _messages AS m ON m.reason = _refused._reason
                """,
                [batch.unit, source, batch.unit, mapping, now, batch_id],
            )
            if ledger.received:
                con.execute(
                    "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        batch_id,
                        source,
                        batch.unit,
                        batch.start,
                        batch.end,
                        ledger.received,
                        ledger.accepted,
                        ledger.quarantined,
                        ledger.duplicates,
                        json.dumps(ledger.by_reason, sort_keys=True),
                        now,
                    ],
                )
            if source != "replay":
                con.execute(
                    "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                    [batch.unit, batch.end, batch.final, now],
                )
        finally:
            con.unregister("_accepted")
            con.unregister("_refused")

    def _next_batch_id(self) -> int:
        return int(store.first_row(self.connection, "SELECT coalesce(max(batch_id), 0) + 1 FROM ledger")[0])

    def _old_seen(self, checked: pa.Table) -> pa.Table:
        """Ids of the batch's events older than the dedupe horizon that ``events`` has: only
        those rows' time range of ``events`` is read, and only when there are any."""
        horizon = self._horizon()
        old = pa.table({"event_id": pa.array([], pa.string())})
        if horizon is not None:
            event_ts = checked.column("event_ts")
            older = pc.fill_null(pc.less(event_ts, pa.scalar(horizon, event_ts.type)), False)
            old = checked.filter(older).select(["event_id", "event_ts"])
        if not old.num_rows:
            return old.select(["event_id"])
        self.connection.register("_old", old)
        try:
            return self.connection.sql(
                "SELECT DISTINCT event_id FROM events WHERE event_ts BETWEEN $lo AND $hi"
                " AND event_id IN (SELECT event_id FROM _old)",
                params={
                    "lo": pc.min(old.column("event_ts")).as_py(),
                    "hi": pc.max(old.column("event_ts")).as_py(),
                },
            ).to_arrow_table()
        finally:
            self.connection.unregister("_old")

    def _horizon(self) -> datetime | None:
        """The oldest event time the dedupe keys cover (None: they cover everything)."""
        newest = store.newest_event(self.connection)
        return None if newest is None else newest - timedelta(days=self.settings.dedupe_horizon_days)

    def _prune(self) -> None:
        """Forget dedupe keys older than the horizon, at most once per day of event time."""
        newest = store.newest_event(self.connection)
        if newest is None:
            return
        horizon = newest - timedelta(days=self.settings.dedupe_horizon_days)
        if self._pruned is None or horizon - self._pruned >= timedelta(days=1):
            self.connection.execute("DELETE FROM dedupe_keys WHERE event_ts < ?", [horizon])
            self._pruned = horizon

    # -- entities and held records ------------------------------------------------------------
    def load_entities(self, entities: Entities) -> int:
        """Upsert an entity table (customers, products, stores) by id; rows without an id are counted out."""
        from shopstream.ingest.entities import upsert_entities

        return upsert_entities(self.connection, entities, self.clock())

    def retry_held(self) -> BatchLedger:
        """Replay held records (unknown product or customer) whose dimension has arrived."""
        from shopstream.ingest.quarantine import replay_where

        return replay_where(
            self,
            f"reason IN ({literals(r.value for r in HELD)}) AND value IN (SELECT id FROM dimension_keys)",
        )


def ingest_files(
    paths: Iterable[str | Path],
    *,
    settings: IngestSettings,
    mapping: str = "shopstream",
    db: Path | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files (a file, directory or glob each) into the store at ``db``."""
    from shopstream.ingest.mapping import load_mapping
    from shopstream.ingest.sources import FileSource

    source = FileSource.of(paths, block_bytes=settings.batch_bytes, parquet_rows=settings.batch_rows)
    chosen = load_mapping(mapping)  # a bad mapping is refused before a store is created
    connection = store.connect(db if db is not None else settings.db)
    try:
        ingestor = Ingestor(connection, settings, mapping=chosen)
        return ingestor.run(source, "file", progress)
    finally:
        connection.close()
