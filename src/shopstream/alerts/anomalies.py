"""What detectors hand to the alerts: anomaly rows, the pairs they evaluated, severities.

A detector of the stream emits, per micro-batch, one row of :data:`ANOMALY_SCHEMA`
per anomalous window of an ``(anomaly_type, scope)`` pair, and one row of
:data:`EVALUATED_SCHEMA` per window it evaluated (anomalous or not): a pair
evaluated at a window without an anomaly row is clear there, and its live alert
resolves. :func:`conform` checks a table against its schema before any SQL sees it.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from shopstream.alerts.errors import AnomalyRowsError

UTC_MICROS = pa.timestamp("us", tz="UTC")

ANOMALY_SCHEMA = pa.schema(
    [
        pa.field("window_start", UTC_MICROS, nullable=False),
        pa.field("window_end", UTC_MICROS, nullable=False),
        pa.field("anomaly_type", pa.string(), nullable=False),
        pa.field("scope", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("observed", pa.float64(), nullable=False),
        pa.field("expected", pa.float64(), nullable=True),
        pa.field("detected_at", UTC_MICROS, nullable=False),
    ]
)
"""One anomalous window of one ``(anomaly_type, scope)`` pair, as a detector reports it."""

EVALUATED_SCHEMA = pa.schema(
    [
        pa.field("anomaly_type", pa.string(), nullable=False),
        pa.field("scope", pa.string(), nullable=False),
        pa.field("window_end", UTC_MICROS, nullable=False),
    ]
)
"""One window at which a detector evaluated a pair's condition."""


class Severity(StrEnum):
    """How bad an anomaly is, from ``low`` to ``critical``; compare with :attr:`rank`.

    >>> Severity("high").rank > Severity.MEDIUM.rank
    True
    >>> Severity.LOW.at_least(Severity.MEDIUM), Severity.CRITICAL.at_least("high")
    (False, True)
    >>> max([Severity.MEDIUM, Severity.CRITICAL, Severity.LOW], key=lambda s: s.rank)
    <Severity.CRITICAL: 'critical'>
    """

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """1 for ``low`` up to 4 for ``critical`` (the ranks ``alert_plan.sql`` uses)."""
        return list(Severity).index(self) + 1

    def at_least(self, other: Severity | str) -> bool:
        """Whether this severity is ``other`` or worse."""
        return self.rank >= Severity(other).rank


SCHEMAS = {"ANOMALY_SCHEMA": ANOMALY_SCHEMA, "EVALUATED_SCHEMA": EVALUATED_SCHEMA}


def empty_evaluated() -> pa.Table:
    """An ``evaluated`` table with no rows (nothing evaluated but the anomalies themselves)."""
    return EVALUATED_SCHEMA.empty_table()


def conform(table: pa.Table, schema_name: str) -> pa.Table:
    """``table``'s columns of the schema ``schema_name`` names, cast to it; extra columns are dropped.

    Raises :class:`AnomalyRowsError` naming the missing columns, the column that does
    not cast, nulls in a required column, or a severity outside :class:`Severity`.

    >>> try:
    ...     conform(pa.table({"anomaly_type": ["traffic_spike"]}), "EVALUATED_SCHEMA")
    ... except AnomalyRowsError as error:
    ...     print(str(error).split(" (")[0])
    rows lack the columns scope, window_end of EVALUATED_SCHEMA
    """
    schema = SCHEMAS[schema_name]
    what = f"rows of {schema_name}"
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise AnomalyRowsError(
            f"rows lack the columns {', '.join(missing)} of {schema_name} (shopstream.alerts);"
            " fix the detector that made them"
        )
    columns = []
    for field in schema:
        column = table.column(field.name)
        try:
            column = column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise AnomalyRowsError(f"{what}: column {field.name} is not {field.type}: {error}") from None
        if not field.nullable and column.null_count:
            raise AnomalyRowsError(
                f"{what}: column {field.name} has {column.null_count} nulls; it needs values"
            )
        columns.append(column)
    conformed = pa.Table.from_arrays(columns, schema=schema)
    if "severity" in schema.names:
        unknown = pc.unique(
            conformed.column("severity").filter(
                pc.invert(pc.is_in(conformed.column("severity"), pa.array(list(Severity))))
            )
        )
        if len(unknown):
            raise AnomalyRowsError(
                f"{what}: unknown severities {unknown.to_pylist()}; use one of "
                + ", ".join(s.value for s in Severity)
            )
    return conformed
