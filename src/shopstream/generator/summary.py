"""Headline numbers of a simulated shop: what ``shopstream demo`` shows.

:func:`summarize` runs one DuckDB query (``shop_summary.sql``, next to this module)
over an events table and, optionally, the anomaly labels kept beside it, and returns
a frozen :class:`ShopSummary`: events by type, sessions, conversion and cart
abandonment of online (web and app) sessions, orders, revenue and the anomalies
injected. :func:`read_generated` loads the Parquet files ``shopstream generate``
wrote back into those two tables.

>>> from decimal import Decimal
>>> import pyarrow as pa
>>> from shopstream.events.contract import EVENTS_SCHEMA
>>> rows = [
...     {"event_id": "e1", "event_type": "add_to_cart", "session_id": "s1", "channel": "web"},
...     {"event_id": "e2", "event_type": "purchase", "session_id": "s1", "channel": "web",
...      "order_total": Decimal("12.50")},
...     {"event_id": "e3", "event_type": "add_to_cart", "session_id": "s2", "channel": "app"},
... ]
>>> summary = summarize(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA))
>>> summary.conversion_rate, summary.cart_abandonment_rate, summary.revenue
(0.5, 0.5, 12.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shopstream.errors import ShopstreamError

SHOP_SUMMARY_SQL = Path(__file__).with_name("shop_summary.sql")
LABEL_COLUMN = "kind"
"""The column that tells an anomaly-labels file apart."""
EVENT_COLUMN = "event_type"
"""The column that tells an events file apart (entity files have none)."""


class SummaryError(ShopstreamError):
    """Generated files cannot be summarized."""


@dataclass(frozen=True)
class ShopSummary:
    """Headline numbers of a batch of events.

    Rates are shares between 0 and 1 and are 0 when their denominator is empty.
    ``online_sessions`` are web and app visits; conversion and cart abandonment are
    measured on them only, because a till (pos) session always ends in a sale.
    """

    events: int
    events_by_type: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    online_sessions: int = 0
    conversion_rate: float = 0.0
    cart_sessions: int = 0
    cart_abandonment_rate: float = 0.0
    orders: int = 0
    revenue: float = 0.0
    average_order_value: float = 0.0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    anomalies_by_kind: dict[str, int] = field(default_factory=dict)


def _counts(histogram: list[tuple[str, int]] | None) -> dict[str, int]:
    """A DuckDB ``histogram`` map as a dict, biggest count first."""
    pairs = histogram or []
    return {key: int(count) for key, count in sorted(pairs, key=lambda pair: (-pair[1], pair[0]))}


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def summarize(events: pa.Table, labels: pa.Table | None = None) -> ShopSummary:
    """Summarize ``events`` (contract schema) and the anomaly ``labels`` beside them."""
    if labels is None:
        labels = pa.table({LABEL_COLUMN: pa.array([], pa.string())})
    connection = duckdb.connect()
    try:
        connection.register("events", events)
        connection.register("labels", labels)
        (row,) = connection.sql(SHOP_SUMMARY_SQL.read_text()).to_arrow_table().to_pylist()
    finally:
        connection.close()
    return ShopSummary(
        events=int(row["events"]),
        events_by_type=_counts(row["events_by_type"]),
        sessions=int(row["sessions"]),
        online_sessions=int(row["online_sessions"]),
        conversion_rate=float(row["conversion_rate"]),
        cart_sessions=int(row["cart_sessions"]),
        cart_abandonment_rate=float(row["cart_abandonment_rate"]),
        orders=int(row["orders"]),
        revenue=float(row["revenue"]),
        average_order_value=float(row["average_order_value"]),
        first_ts=_utc(row["first_ts"]),
        last_ts=_utc(row["last_ts"]),
        anomalies_by_kind=_counts(row["anomalies_by_kind"]),
    )


def read_generated(files: Sequence[Path]) -> tuple[pa.Table, pa.Table | None]:
    """The events and anomaly labels among Parquet files written by ``shopstream generate``.

    A file with a ``kind`` column holds labels, one with an ``event_type`` column
    events; the entity files (customers, products, stores) and non-Parquet files are
    skipped.
    """
    event_tables: list[pa.Table] = []
    label_tables: list[pa.Table] = []
    for path in files:
        if path.suffix != ".parquet":
            continue
        columns = pq.read_schema(path).names
        if LABEL_COLUMN in columns:
            label_tables.append(pq.read_table(path))
        elif EVENT_COLUMN in columns:
            event_tables.append(pq.read_table(path))
    if not event_tables:
        raise SummaryError(
            f"no Parquet events file among the {len(files)} files given; generate with --format parquet"
        )
    events = pa.concat_tables(event_tables, promote_options="default")
    labels = pa.concat_tables(label_tables, promote_options="default") if label_tables else None
    return events, labels
