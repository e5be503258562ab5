-- Step 3a: fraud-like orders of the batch (late ones too): high value, a huge line, a line
-- priced far above the catalogue. One audit row per rule and order.
INSERT INTO audit
WITH orders AS (
    SELECT event_id, event_ts, coalesce(order_id, event_id) AS order_id, country::VARCHAR AS country,
           order_total, items
    FROM _batch
    WHERE event_type = 'purchase'
),
lines AS (
    SELECT o.event_id, max(o.line.quantity) AS max_quantity,
           max(o.line.unit_price / p.price) FILTER (WHERE p.price > 0) AS max_price_ratio
    FROM (SELECT event_id, unnest(items) AS line FROM orders) AS o
    LEFT JOIN product_state AS p ON p.product_id = o.line.product_id
    GROUP BY o.event_id
),
found AS (
    SELECT 'high_value_order' AS rule, 'medium' AS severity, o.*, order_total::DOUBLE AS observed,
           $high_value::DOUBLE AS threshold,
           format('order total {} above {}', order_total, $high_value::DOUBLE) AS description
    FROM orders AS o WHERE order_total > $high_value
    UNION ALL
    SELECT 'high_quantity', 'high', o.*, l.max_quantity::DOUBLE, $high_quantity::DOUBLE,
           format('a line of {} units (threshold {})', l.max_quantity, $high_quantity::BIGINT)
    FROM orders AS o JOIN lines AS l USING (event_id) WHERE l.max_quantity >= $high_quantity
    UNION ALL
    SELECT 'price_spike', 'high', o.*, l.max_price_ratio::DOUBLE, $price_spike::DOUBLE,
           format('a line priced {:.1f} times the catalogue price', l.max_price_ratio::DOUBLE)
    FROM orders AS o JOIN lines AS l USING (event_id) WHERE l.max_price_ratio >= $price_spike
)
SELECT rule, 'order', order_id, time_bucket(INTERVAL 1 MINUTE, event_ts), event_id, event_ts, country,
       severity, observed, threshold, description, $now::TIMESTAMPTZ
FROM found
ON CONFLICT DO NOTHING
