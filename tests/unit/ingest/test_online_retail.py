"""The UCI Online Retail file through the built-in mapping: every row accounted for.

Revenue reconciles with the file's own total by this formula (docs/ingest.md):

    sum(Quantity * UnitPrice) over the file
        = accepted purchases' order_total - accepted refunds' order_total
        + the value of duplicate lines + the value of quarantined lines

Quarantined lines are the zero-price ones, so their value is 0.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from factories import CLOCK
from shopstream.ingest import FileSource, Ingestor, connect, load_mapping
from shopstream.settings import IngestSettings

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "online_retail"
FILE = DATA / "online_retail_2010-12_2011-12.csv.gz"
pytestmark = pytest.mark.skipif(not FILE.exists(), reason=f"real data not found at {DATA} (a user's clone)")


@pytest.fixture(scope="module")
def retail() -> tuple[duckdb.DuckDBPyConnection, dict[str, object]]:
    connection = connect(":memory:")
    ingestor = Ingestor(
        connection, IngestSettings(), mapping=load_mapping("online_retail"), clock=lambda: CLOCK
    )
    report = ingestor.run(FileSource.of([FILE]), "file")
    return connection, report.to_dict()


def test_every_row_is_accounted_for(retail: tuple[duckdb.DuckDBPyConnection, dict[str, object]]) -> None:
    _, report = retail
    assert report["received"] == 541_909
    assert report["duplicates"] == 5_268  # the file's exact duplicate rows
    assert report["by_reason"] == {"non_positive_price": 2_514}  # 2,515 zero-price rows, one of them a repeat
    assert report["accepted"] == 541_909 - 5_268 - 2_514


def test_invoices_become_purchases_and_refunds(
    retail: tuple[duckdb.DuckDBPyConnection, dict[str, object]],
) -> None:
    connection, _ = retail
    rows = dict(connection.sql("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall())
    assert set(rows) == {"purchase", "refund"}
    assert (
        connection.sql("SELECT count(*) FROM events WHERE order_id LIKE 'C%'").fetchall()[0][0]
        == rows["refund"] - 2
    )
    # the bad-debt adjustments: one charge, two write-offs (refunds)
    adjustments = connection.sql(
        "SELECT event_type, order_total FROM events WHERE order_id LIKE 'A%' ORDER BY order_id"
    ).fetchall()
    assert adjustments == [
        ("purchase", Decimal("11062.06")),
        ("refund", Decimal("11062.06")),
        ("refund", Decimal("11062.06")),
    ]
    anonymous = connection.sql("SELECT count(*) FROM events WHERE user_id IS NULL").fetchall()[0][0]
    assert anonymous > 1_000
    assert connection.sql("SELECT count(DISTINCT country) FROM events").fetchall()[0][0] == 38
    assert connection.sql("SELECT min(user_id), max(user_id) FROM events").fetchall()[0] == ("12346", "18287")


def test_revenue_reconciles_with_the_file(
    retail: tuple[duckdb.DuckDBPyConnection, dict[str, object]],
) -> None:
    connection, _ = retail
    net = connection.sql(
        "SELECT sum(CASE event_type WHEN 'purchase' THEN order_total ELSE -order_total END) FROM events"
    ).fetchall()[0][0]
    source = (
        duckdb.connect()
        .sql(
            f"""
        WITH r AS (SELECT * FROM read_csv('{FILE}', all_varchar = true)),
        repeats AS (
            SELECT Quantity::INTEGER * UnitPrice::DECIMAL(18, 2) AS value,
                   row_number() OVER (PARTITION BY InvoiceNo, StockCode, Description, Quantity,
                                      InvoiceDate, UnitPrice, CustomerID, Country) AS copy
            FROM r
        )
        SELECT (SELECT sum(Quantity::INTEGER * UnitPrice::DECIMAL(18, 2)) FROM r),
               (SELECT sum(value) FROM repeats WHERE copy > 1)
        """
        )
        .fetchall()[0]
    )
    file_total, duplicate_value = source
    assert file_total == Decimal("9747747.93")
    quarantined_value = Decimal(0)  # zero-price lines
    assert net + duplicate_value + quarantined_value == file_total
