"""Small hand-made event sets streamed batch by batch into an in-memory store."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pytest

from factories import CLOCK, Feed
from shopstream.events import EVENTS_SCHEMA
from shopstream.ingest import store
from shopstream.settings import StreamSettings
from shopstream.stream import StreamProcessor


@pytest.fixture
def shop() -> tuple[duckdb.DuckDBPyConnection, Feed]:
    """An in-memory store with two products, and ``feed(rows, **stream_settings)`` for batches."""
    connection = store.connect(":memory:")
    connection.execute(
        "INSERT INTO products (product_id, category, price, inventory) VALUES "
        "('p1', 'Books', 10.00, 25), ('p2', 'Toys', 100.00, 500)"
    )
    processors: dict[str, StreamProcessor] = {}

    def feed(rows: list[dict[str, Any]], **settings: Any) -> None:
        key = repr(sorted(settings.items()))
        if key not in processors:
            processors[key] = StreamProcessor(connection, StreamSettings(**settings))
        with store.transaction(connection):
            processors[key].process(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA), CLOCK)

    return connection, feed
