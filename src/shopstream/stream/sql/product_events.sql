-- Step 5d: the batch's product-level events, one row per view, cart add or remove, or order line.
SELECT time_bucket(INTERVAL 1 MINUTE, e.event_ts) AS minute,
       time_bucket(INTERVAL 5 MINUTE, e.event_ts) AS window_start,
       e.product_id, coalesce(e.category, p.category, 'unknown') AS category, e.country, e.kind,
       e.units, e.revenue
FROM (
    SELECT event_ts, product_id, category::VARCHAR AS category, country::VARCHAR AS country,
           event_type::VARCHAR AS kind, 0 AS units, 0::DECIMAL(18, 2) AS revenue
    FROM _kpi
    WHERE event_type IN ('product_view', 'add_to_cart', 'remove_from_cart') AND product_id IS NOT NULL
    UNION ALL
    SELECT event_ts, line.product_id, NULL, country, 'purchase', line.quantity, line.quantity * line.unit_price
    FROM (SELECT event_ts, country::VARCHAR AS country, unnest(items) AS line FROM _kpi WHERE event_type = 'purchase')
) AS e
LEFT JOIN product_state AS p ON p.product_id = e.product_id
