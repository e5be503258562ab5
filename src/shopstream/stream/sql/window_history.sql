-- The 5-minute windows from $first to $last (gaps filled with zeros: a window without events
-- is a window with no traffic) with their top category by cart adds (the earliest sales figure: a
-- window holds some 20-30 of them, against 5-20 order lines of web and app orders).
WITH grid AS (
    SELECT unnest(generate_series($first::TIMESTAMPTZ, $last::TIMESTAMPTZ, INTERVAL 5 MINUTE)) AS window_start
),
top AS (
    SELECT window_start, arg_max(category, adds) AS top_category, max(adds) AS top_cart_adds, sum(adds) AS cart_adds
    FROM (
        SELECT window_start, category, sum(cart_adds) AS adds
        FROM category_activity
        WHERE window_start BETWEEN $first AND $last
        GROUP BY ALL
    )
    GROUP BY window_start
)
SELECT g.window_start,
       coalesce(m.events, 0) AS events,
       coalesce(m.sessions, 0) AS sessions,
       coalesce(m.online_sessions, 0) AS online_sessions,
       coalesce(m.carts, 0) AS carts,
       coalesce(m.orders, 0) AS orders,
       coalesce(m.online_orders, 0) AS online_orders,
       coalesce(m.failed_payments, 0) AS failed_payments,
       coalesce(m.revenue, 0)::DOUBLE AS revenue,
       coalesce(m.cart_visits, 0) AS cart_visits,
       coalesce(m.checkout_visits, 0) AS checkout_visits,
       coalesce(m.visit_orders, 0) AS visit_orders,
       coalesce(m.visit_failed_payments, 0) AS visit_failed_payments,
       coalesce(m.visit_revenue, 0)::DOUBLE AS visit_revenue,
       coalesce(m.priced_events, 0) AS priced_events,
       coalesce(m.missing_price, 0) AS missing_price,
       coalesce(m.missing_category, 0) AS missing_category,
       t.top_category,
       coalesce(t.top_cart_adds, 0) AS top_cart_adds,
       coalesce(t.cart_adds, 0) AS cart_adds
FROM grid AS g
LEFT JOIN window_metrics AS m USING (window_start)
LEFT JOIN top AS t USING (window_start)
ORDER BY g.window_start
