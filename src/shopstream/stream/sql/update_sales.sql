-- Step 5a: sales per minute, overall and by country, channel, store and category.
INSERT INTO sales
WITH orders AS (
    SELECT time_bucket(INTERVAL 1 MINUTE, event_ts) AS window_start, event_id,
           country::VARCHAR AS country, channel::VARCHAR AS channel, store_id, items,
           CASE WHEN event_type = 'purchase' THEN order_total ELSE 0 END AS revenue,
           CASE WHEN event_type = 'refund' THEN order_total ELSE 0 END AS refunds,
           (event_type = 'purchase')::BIGINT AS orders,
           CASE WHEN event_type = 'purchase'
                THEN list_sum(list_transform(items, lambda line: line.quantity)) ELSE 0 END AS units,
           (event_type = 'purchase_failed')::BIGINT AS failed_payments,
           event_type::VARCHAR AS event_type
    FROM _kpi
    WHERE event_type IN ('purchase', 'refund', 'purchase_failed')
),
members AS (
    SELECT window_start, 'all' AS dimension, 'all' AS member, * EXCLUDE (window_start) FROM orders
    UNION ALL SELECT window_start, 'country', country, * EXCLUDE (window_start) FROM orders
    UNION ALL SELECT window_start, 'channel', channel, * EXCLUDE (window_start) FROM orders
    UNION ALL SELECT window_start, 'store', store_id, * EXCLUDE (window_start) FROM orders WHERE store_id IS NOT NULL
),
lines AS (
    SELECT window_start, event_id, event_type, unnest(items) AS line
    FROM orders WHERE event_type IN ('purchase', 'refund')
)
SELECT window_start, dimension, member, sum(revenue), sum(refunds), sum(orders), sum(units), sum(failed_payments)
FROM members
GROUP BY ALL
UNION ALL
SELECT l.window_start, 'category', coalesce(p.category, 'unknown'),
       coalesce(sum(l.line.quantity * l.line.unit_price) FILTER (WHERE l.event_type = 'purchase'), 0),
       coalesce(sum(l.line.quantity * l.line.unit_price) FILTER (WHERE l.event_type = 'refund'), 0),
       count(DISTINCT l.event_id) FILTER (WHERE l.event_type = 'purchase'),
       coalesce(sum(l.line.quantity) FILTER (WHERE l.event_type = 'purchase'), 0),
       0
FROM lines AS l LEFT JOIN product_state AS p ON p.product_id = l.line.product_id
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    revenue = revenue + EXCLUDED.revenue,
    refunds = refunds + EXCLUDED.refunds,
    orders = orders + EXCLUDED.orders,
    units = units + EXCLUDED.units,
    failed_payments = failed_payments + EXCLUDED.failed_payments
