-- The 5-minute windows from $first to $last (gaps filled with zeros: a window without events
-- is a window with no traffic) with their top category by order lines.
WITH grid AS (
    SELECT unnest(generate_series($first::TIMESTAMPTZ, $last::TIMESTAMPTZ, INTERVAL 5 MINUTE)) AS window_start
),
top AS (
    SELECT window_start, arg_max(category, lines) AS top_category, max(lines) AS top_lines, sum(lines) AS lines
    FROM (
        SELECT window_start, category, sum(orders) AS lines
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
       coalesce(m.priced_events, 0) AS priced_events,
       coalesce(m.missing_price, 0) AS missing_price,
       coalesce(m.missing_category, 0) AS missing_category,
       t.top_category,
       coalesce(t.top_lines, 0) AS top_lines,
       coalesce(t.lines, 0) AS lines
FROM grid AS g
LEFT JOIN window_metrics AS m USING (window_start)
LEFT JOIN top AS t USING (window_start)
ORDER BY g.window_start
