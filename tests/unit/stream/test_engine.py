"""The stream engine on small event sets whose results are computed by hand."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from factories import Feed, at, event, purchase


def rows(connection: duckdb.DuckDBPyConnection, query: str) -> list[tuple[object, ...]]:
    return connection.execute(query).fetchall()


def test_sales_per_minute_overall_and_by_country_and_category(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    feed(
        [
            purchase("10:00:10", [("p1", 2, 10.0)]),
            purchase("10:00:40", [("p2", 1, 100.0), ("p1", 1, 10.0)], session="s2", country="FR"),
            purchase("10:01:05", [("p1", 3, 10.0)], session="s3"),
            event("refund", "10:01:30", "s3", order_id="o-r", items=[("p1", 1, 10.0)]),
            event(
                "purchase_failed",
                "10:01:40",
                "s4",
                order_id="o-f",
                order_total=50,
                failure_reason="card_declined",
            ),
        ]
    )
    assert rows(
        connection,
        "SELECT strftime(window_start, '%H:%M'), revenue, refunds, orders, units, failed_payments,"
        " average_order_value FROM sales_per_minute WHERE dimension = 'all' ORDER BY window_start",
    ) == [
        ("10:00", Decimal("130.00"), Decimal("0.00"), 2, 4, 0, Decimal("65.00")),
        ("10:01", Decimal("30.00"), Decimal("10.00"), 1, 3, 1, Decimal("30.00")),
    ]
    assert rows(
        connection,
        "SELECT dimension, member, revenue, orders, units FROM sales"
        " WHERE strftime(window_start, '%H:%M') = '10:00' AND dimension IN ('country', 'category')"
        " ORDER BY ALL",
    ) == [
        ("category", "Books", Decimal("30.00"), 2, 3),
        ("category", "Toys", Decimal("100.00"), 1, 1),
        ("country", "DE", Decimal("20.00"), 1, 2),
        ("country", "FR", Decimal("110.00"), 1, 2),
    ]


def test_a_batch_split_in_two_adds_up_to_the_same_windows(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    feed([purchase("10:00:10", [("p1", 2, 10.0)])])
    feed([purchase("10:00:50", [("p1", 1, 10.0)], session="s2")])
    assert rows(connection, "SELECT revenue, orders, units FROM sales WHERE dimension = 'all'") == [
        (Decimal("30.00"), 2, 3)
    ]
    assert rows(connection, "SELECT events, orders, revenue FROM window_metrics") == [
        (2, 2, Decimal("30.00"))
    ]


def test_events_behind_the_watermark_are_counted_late_and_kept_out_of_windows(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    feed([event("page_view", "10:10:00")], allowed_lateness_seconds=60)  # watermark 10:09:00
    feed(
        [
            purchase("10:08:30", [("p1", 1, 10.0)], session="late"),  # 30 s behind the watermark
            purchase("10:09:30", [("p1", 2, 10.0)], session="inside"),  # within the lateness
        ],
        allowed_lateness_seconds=60,
    )
    assert rows(
        connection,
        "SELECT strftime(window_start, '%H:%M'), event_type, events, max_lateness_seconds FROM late_events",
    ) == [("10:08", "purchase", 1, 30.0)]
    assert rows(
        connection,
        "SELECT strftime(window_start, '%H:%M'), units FROM sales"
        " WHERE dimension = 'all' ORDER BY window_start",
    ) == [("10:09", 2)]
    assert rows(connection, "SELECT strftime(watermark, '%H:%M:%S') FROM watermark") == [("10:09:00",)]


def test_a_cart_is_abandoned_exactly_at_the_inactivity_timeout(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    settings = {"allowed_lateness_seconds": 0, "session_timeout_minutes": 30}
    feed(
        [
            event("add_to_cart", "10:00", "s1", product_id="p1", quantity=2, unit_price=10),
            event("update_cart", "10:01", "s1", product_id="p1", quantity=5, unit_price=10),
            event("remove_from_cart", "10:02", "s1", product_id="p1", quantity=1, unit_price=10),
            event("add_to_cart", "10:00", "s2", product_id="p2", quantity=1, unit_price=100),
            event("checkout_started", "10:03", "s2", order_id="o2", order_total=100),
            purchase("10:04", [("p2", 1, 100.0)], session="s2"),
        ],
        **settings,
    )
    feed([event("page_view", "10:31:59", "s3")], **settings)  # s1 idle 29:59
    assert rows(connection, "SELECT session_id, units, value FROM active_carts") == [
        ("s1", 4, Decimal("40.00"))
    ]
    assert rows(connection, "SELECT count(*) FROM abandoned_carts") == [(0,)]

    feed([event("page_view", "10:32:00", "s3")], **settings)  # s1 idle 30:00
    assert rows(
        connection,
        "SELECT session_id, strftime(abandoned_at, '%H:%M'), units, value, reached_checkout"
        " FROM abandoned_carts",
    ) == [("s1", "10:32", 4, Decimal("40.00"), False)]
    assert rows(connection, "SELECT session_id FROM open_sessions ORDER BY ALL") == [("s2",), ("s3",)]

    feed([event("page_view", "10:34:00", "s3")], **settings)  # s2 closes, bought
    assert rows(connection, "SELECT count(*) FROM abandoned_carts") == [(1,)]
    assert rows(
        connection,
        "SELECT strftime(window_start, '%H:%M'), country, device, carts, abandoned, converted, lost_value"
        " FROM cart_metrics",
    ) == [("10:00", "DE", "desktop", 2, 1, 1, Decimal("40.00"))]
    assert rows(
        connection,
        "SELECT session_id, duration_seconds, events, bounced, abandoned FROM sessions ORDER BY ALL",
    ) == [("s1", 120.0, 3, False, True), ("s2", 240.0, 3, False, False)]


def test_a_bot_is_flagged_and_its_events_leave_the_windows(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    bot = [event("page_view", f"10:00:{second:02d}", "bot") for second in range(0, 60)]  # 60 events in 59 s
    human = [event("page_view", f"10:0{minute}:00", "human") for minute in range(0, 4)]
    feed(bot + human)
    assert rows(connection, "SELECT rule, entity_id, observed FROM audit") == [("bot_session", "bot", 60.0)]
    assert rows(connection, "SELECT events, sessions FROM window_metrics") == [(4, 1)]
    feed([event("page_view", "10:04:10", "bot"), event("page_view", "10:04:20", "human")])
    assert rows(connection, "SELECT events, sessions FROM window_metrics") == [(5, 1)]


def test_order_rules_flag_and_keep_flagged_orders_out_of_sales(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    feed(
        [
            purchase("10:00", [("p2", 51, 100.0)], session="big", order_id="o-big"),  # 5,100 and 51 units
            purchase("10:00", [("p1", 1, 35.0)], session="spiky", order_id="o-spike"),  # 3.5 x catalogue
            purchase("10:00", [("p1", 1, 10.0)], session="fine", order_id="o-fine"),
            *(purchase(f"10:0{m}", [("p1", 1, 10.0)], session=f"u{m}", user_id="u9") for m in (1, 2, 3)),
        ]
    )
    assert rows(connection, "SELECT rule, entity_id, observed FROM audit ORDER BY ALL") == [
        ("high_quantity", "o-big", 51.0),
        ("high_value_order", "o-big", 5100.0),
        ("price_spike", "o-spike", 3.5),
        ("suspicious_customer", "u9", 3.0),
    ]
    assert rows(connection, "SELECT sum(orders), sum(revenue) FROM sales WHERE dimension = 'all'") == [
        (4, Decimal("40.00"))
    ]


def test_stock_falls_with_sales_and_raises_restock_and_high_demand_alerts(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    settings = {"restock_units": 10, "restock_hours": 1, "high_demand_units": 20}
    feed(
        [purchase("10:00", [("p1", 12, 10.0)]), purchase("10:03", [("p1", 8, 10.0)], session="s2")],
        **settings,
    )
    assert rows(connection, "SELECT stock FROM product_state WHERE product_id = 'p1'") == [(5,)]
    assert rows(
        connection, "SELECT kind, product_id, stock, units_in_window FROM inventory_alerts ORDER BY kind"
    ) == [("high_demand", "p1", 5, 20), ("restock", "p1", 5, None)]

    feed(
        [
            event("product_updated", "10:05", None, product_id="p1", inventory=100, price=10),
            purchase("10:06", [("p1", 1, 10.0)], session="s3"),
        ],
        **settings,
    )
    assert rows(
        connection, "SELECT stock, strftime(stock_as_of, '%H:%M') FROM product_state WHERE product_id = 'p1'"
    ) == [(99, "10:05")]
    assert rows(connection, "SELECT count(*) FROM inventory_alerts WHERE kind = 'restock'") == [(1,)]


def test_a_traffic_drop_is_found_once_its_second_window_closes(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    visits = [
        event("page_view", f"{9 + (w * 5) // 60:02d}:{(w * 5) % 60:02d}:{(v * 2) % 60:02d}", f"w{w}v{v}")
        for w in range(15)
        for v in range(100 if w < 13 else 10)
    ]  # 100 visits in each 5-minute window from 09:00, then 10 at 10:05 and at 10:10
    feed(visits, allowed_lateness_seconds=0)
    assert rows(connection, "SELECT count(*) FROM anomalies") == [(0,)]  # 10:10 is still open
    feed([event("page_view", "10:15:00", "later")], allowed_lateness_seconds=0)
    assert rows(
        connection, "SELECT strftime(window_start, '%H:%M'), anomaly_type, severity, observed FROM anomalies"
    ) == [("10:10", "traffic_drop", "critical", 10.0)]
    assert rows(connection, "SELECT anomaly_type, status FROM alerts") == [("traffic_drop", "open")]


def test_a_registration_dated_after_its_event_is_flagged(
    shop: tuple[duckdb.DuckDBPyConnection, Feed],
) -> None:
    connection, feed = shop
    feed(
        [
            event("user_registered", "10:00", "s1", user_id="u1", registered_at=at("10:02")),
            event("user_registered", "10:00", "s2", user_id="u2", registered_at=at("09:59")),
        ]
    )
    assert rows(connection, "SELECT rule, entity_id, observed FROM audit") == [
        ("future_registration", "u1", 120.0)
    ]
