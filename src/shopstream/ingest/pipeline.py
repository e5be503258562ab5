"""The ingestion pipeline: decode, validate, dedupe and persist one batch at a time.

For each :class:`~shopstream.ingest.sources.RawBatch` the core decides every
record's fate with whole-batch operations (DuckDB SQL and ``pyarrow.compute``):
accepted, quarantined with a :class:`~shopstream.ingest.rules.Reason`, or a
duplicate. The counts, in source records, make a ledger row, and
``received = accepted + quarantined + duplicates`` is checked before anything is
written: a violation raises :class:`~shopstream.ingest.errors.LedgerError`.

**Policies.**

- *Dedupe* is by ``event_id`` against the ids accepted within the dedupe horizon
  (``ingest.dedupe_horizon_days`` of event time behind the newest accepted event;
  older keys are pruned, so memory stays bounded). An event older than the horizon
  cannot be told apart from a re-sent copy, so it is quarantined
  (``beyond_dedupe_horizon``) rather than risk counting it twice. A refused record
  whose text is already in the quarantine is a duplicate too, so ingesting the same
  input twice changes nothing.
- *Facts before dimensions* are held, not lost: an event naming a product or customer
  shopstream does not know goes to the quarantine (``unknown_product`` /
  ``unknown_customer``) and is replayed automatically as soon as that product or
  customer arrives (an entity file, ``product_updated`` or ``user_registered``).

**Commit order of a batch** (:meth:`Ingestor.ingest_batch`), one DuckDB transaction:

1. skip the batch if the unit's checkpoint already covers it (a resumed run);
2. insert the accepted events into ``events``;
3. insert their ids into ``dedupe_keys`` and new product/customer ids into
   ``dimension_keys``;
4. insert the refused records into ``quarantine``;
5. insert the ledger row (the invariant was checked before step 2);
6. move the unit's checkpoint to the batch's end; commit.

A crash before the commit leaves nothing of the batch; the restart reads the same
batch again. After the commit, held records whose dimension arrived are replayed
(their own batch and transaction).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.contract import EVENT_COLUMNS
from shopstream.ingest import store
from shopstream.ingest.decode import (
    POSITION,
    RAW,
    RECORDS,
    TYPE_FIELD,
    conform_sql,
    is_timestamp,
    json_records_sql,
    quote,
)
from shopstream.ingest.errors import LedgerError
from shopstream.ingest.mapping import Mapping
from shopstream.ingest.rules import (
    HELD,
    MESSAGES,
    Reason,
    clock_problems,
    contract_problems,
    first_problem,
    problems,
)
from shopstream.ingest.sources import Entities, RawBatch
from shopstream.settings import IngestSettings

Progress = Callable[[int], None]
CONTRACT = tuple(c.name for c in EVENT_COLUMNS)
NESTED = frozenset(c.name for c in EVENT_COLUMNS if c.name == "items")
_SCALAR_TEXT = " ".join(
    f"WHEN '{c.name}' THEN {quote(c.name)}::VARCHAR" for c in EVENT_COLUMNS if c.name not in NESTED
)


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
                f"ledger does not balance for {self.unit} [{self.start}, {self.end}): received {self.received}"
                f" != accepted {self.accepted} + quarantined {self.quarantined} + duplicates {self.duplicates}"
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
        self.batches += 1
        self.received += ledger.received
        self.accepted += ledger.accepted
        self.quarantined += ledger.quarantined
        self.duplicates += ledger.duplicates
        self.by_reason.update(ledger.by_reason)

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


def _decode_problems(checked: pa.Table) -> pa.Table:
    """Records that did not parse, values that did not cast, lines a mapping refused."""
    malformed = pc.fill_null(checked.column("_malformed"), False)
    type_field = checked.column(TYPE_FIELD)
    times = pa.array([c.name for c in EVENT_COLUMNS if is_timestamp(c.name)])
    cast_reason = pc.if_else(
        pc.is_in(type_field, value_set=times), Reason.UNPARSABLE_TIMESTAMP.value, Reason.WRONG_TYPE.value
    )
    rows = pc.indices_nonzero(malformed)
    cast = pc.indices_nonzero(pc.is_valid(type_field))
    mapped = pc.indices_nonzero(pc.is_valid(checked.column("_mapped_reason")))
    return pa.concat_tables(
        [
            problems(
                rows, pa.array([Reason.MALFORMED_RECORD.value] * len(rows)), pa.nulls(len(rows), pa.string())
            ),
            problems(cast, pc.take(cast_reason, cast), pc.take(type_field, cast)),
            problems(
                mapped,
                pc.take(checked.column("_mapped_reason"), mapped),
                pc.take(checked.column("_mapped_field"), mapped),
            ),
        ]
    )


class Ingestor:
    """Runs sources into a store: one transaction per batch, the ledger checked on each."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        settings: IngestSettings,
        *,
        mapping: Mapping | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.connection = connection
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
        """Ingest everything ``source`` has; ``name`` labels it in the ledger and quarantine."""
        report = IngestReport()
        for entities in source.entities():
            report.entities[entities.kind] = report.entities.get(entities.kind, 0) + self.load_entities(
                entities
            )
        if report.entities:
            report.add(self.retry_held())
        for batch in source.batches():
            if self._start_of(batch, report) >= batch.end and batch.end > batch.start:
                continue
            ledger = self.ingest_batch(batch, name)
            report.add(ledger)
            if progress is not None:
                progress(ledger.received)
            held = self.retry_held()
            if held.received:
                report.add(held)
        return report

    def _start_of(self, batch: RawBatch, report: IngestReport) -> int:
        """Where this run resumes in ``batch.unit``: its checkpoint if an earlier run stopped part-way."""
        if batch.unit not in self._resume:
            position, complete = store.checkpoint(self.connection, batch.unit)
            self._resume[batch.unit] = 0 if complete else position
            if position and not complete:
                report.resumed_units.append(batch.unit)
        return self._resume[batch.unit]

    # -- one batch -----------------------------------------------------------------------------
    def check(self, batch: RawBatch, now: datetime) -> pa.Table:
        """The batch decoded to the contract, with each record's first problem (``_reason``, ``_field``)."""
        records = batch.records
        kind = batch.kind
        if self.mapping is not None:
            records, kind = self.mapping.apply(self.connection, records, kind), "columns"
        self.connection.register("_records_in", records)
        received = f"TIMESTAMPTZ '{now.isoformat()}'"
        if kind == "json":
            relation = f"({json_records_sql('_records_in', CONTRACT, NESTED)})"
            types = {name: pa.string() for name in CONTRACT} | {"_malformed": pa.bool_()}
        else:
            relation, types = "_records_in", {f.name: f.type for f in records.schema}
        checked = self.connection.sql(conform_sql(relation, types, received)).to_arrow_table()
        skew = timedelta(seconds=self.settings.clock_skew_seconds)
        newest = store.newest_event(self.connection)
        horizon = None if newest is None else newest - timedelta(days=self.settings.dedupe_horizon_days)
        found = pa.concat_tables(
            [
                _decode_problems(checked),
                contract_problems(checked),
                clock_problems(checked, now, skew, horizon),
            ]
        )
        reason, field_ = first_problem(found, checked.num_rows)
        # a mapping's verdict on a line stands: its other columns are not an event's
        mapped = checked.column("_mapped_reason")
        reason = pc.coalesce(mapped, reason)
        field_ = pc.if_else(pc.is_valid(mapped), checked.column("_mapped_field"), field_)
        return checked.append_column("_reason", reason).append_column("_field", field_)

    def ingest_batch(self, batch: RawBatch, source: str, *, replacing: pa.Array | None = None) -> BatchLedger:
        """Decide and commit one batch (see the module's commit order).

        ``replacing`` (replay) names quarantine rows this batch re-reads: they are
        removed in the same transaction, and re-inserted if still refused.
        """
        now = self.clock()
        checked = self.check(batch, now)
        con = self.connection
        con.register("_checked", checked)
        con.execute("BEGIN TRANSACTION")
        try:
            if replacing is not None:
                con.register("_replacing", pa.table({"quarantine_id": replacing}))
                con.execute(
                    "DELETE FROM quarantine WHERE quarantine_id IN (SELECT quarantine_id FROM _replacing)"
                )
            if self.mapping is not None and self.mapping.derive_dimensions:
                self._derive_dimensions()
            con.execute(f"CREATE OR REPLACE TEMP TABLE _decided AS {store.sql('batch_outcome')}")
            self._rebuild_raw(batch.records if self.mapping is None else None)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _refused AS {store.sql('refused')}")
            ledger = self._count(batch, source)
            ledger.check()
            self._write(batch, source, ledger, now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_checked")
            con.unregister("_records_in")
        self._prune()
        return ledger

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

    def _rebuild_raw(self, records: pa.Table | None) -> None:
        """``_rebuilt``: typed records that were refused, as JSON text (their raw form)."""
        con = self.connection
        columns = [] if records is None else [n for n in records.column_names if not n.startswith("_")]
        if not columns:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW _rebuilt AS SELECT NULL::BIGINT AS _position, NULL::VARCHAR AS _json WHERE false"
            )
            return
        fields = ", ".join(f"{quote(n)} := r.{quote(n)}" for n in columns)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _rebuilt AS SELECT r.{POSITION}, to_json(struct_pack({fields}))::VARCHAR AS _json "
            f"FROM _records_in AS r WHERE r.{POSITION} IN "
            f"(SELECT {POSITION} FROM _decided WHERE _outcome = 'quarantined' AND {RAW} IS NULL)"
        )

    def _count(self, batch: RawBatch, source: str) -> BatchLedger:
        con = self.connection
        outcomes = dict(con.execute(f"SELECT _outcome, sum({RECORDS}) FROM _decided GROUP BY ALL").fetchall())
        copies = store.first_row(con, f"SELECT coalesce(sum({RECORDS}), 0) FROM _refused WHERE _copy")
        reasons = con.execute(
            f"SELECT _reason, sum({RECORDS}) FROM _refused WHERE NOT _copy GROUP BY ALL ORDER BY 1"
        ).fetchall()
        received = store.first_row(con, f"SELECT coalesce(sum({RECORDS}), 0) FROM _checked")
        by_reason = {str(r): int(n) for r, n in reasons}
        return BatchLedger(
            source=source,
            unit=batch.unit,
            start=batch.start,
            end=batch.end,
            received=int(received[0]),
            accepted=int(outcomes.get("accepted", 0)),
            quarantined=sum(by_reason.values()),
            duplicates=int(outcomes.get("duplicate", 0)) + int(copies[0]),
            by_reason=by_reason,
        )

    def _write(self, batch: RawBatch, source: str, ledger: BatchLedger, now: datetime) -> None:
        con = self.connection
        columns = ", ".join(quote(c) for c in CONTRACT)
        con.execute(f"INSERT INTO events SELECT {columns} FROM _decided WHERE _outcome = 'accepted'")
        con.execute(
            "INSERT INTO dedupe_keys SELECT event_id, event_ts FROM _decided WHERE _outcome = 'accepted'"
        )
        for kind, event_type, key in (
            ("customer", "user_registered", "user_id"),
            ("product", "product_updated", "product_id"),
        ):
            con.execute(
                f"INSERT INTO dimension_keys SELECT DISTINCT '{kind}', {key} FROM _decided "
                f"WHERE _outcome = 'accepted' AND event_type = '{event_type}' AND {key} IS NOT NULL "
                f"AND {key} NOT IN (SELECT id FROM dimension_keys WHERE kind = '{kind}')"
            )
        batch_id = self._next_batch_id()
        mapping = None if self.mapping is None else self.mapping.name
        con.execute(
            f"""
            INSERT INTO quarantine
            SELECT left(md5(? || '#' || {POSITION}::VARCHAR), 16), ?, ?, {POSITION}, {RECORDS}, raw, fingerprint,
                   ?, _reason, _field,
                   coalesce(_ref_value, CASE _field {_SCALAR_TEXT} END),
                   replace(m.template, '{{field}}', coalesce(_field, 'the record')),
                   event_id, ?, ?
            FROM _refused JOIN _messages AS m ON m.reason = _refused._reason
            WHERE NOT _copy
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

    def _next_batch_id(self) -> int:
        return int(store.first_row(self.connection, "SELECT coalesce(max(batch_id), 0) + 1 FROM ledger")[0])

    def _prune(self) -> None:
        """Forget dedupe keys older than the horizon, at most once per simulated day."""
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
            "reason IN ({}) AND value IN (SELECT id FROM dimension_keys)".format(
                ", ".join(f"'{r.value}'" for r in HELD)
            ),
        )
