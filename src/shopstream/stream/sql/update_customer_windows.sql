-- Step 6a: orders and spend per customer and window of the suspicious-customer rule.
INSERT INTO customer_windows
SELECT time_bucket(to_minutes($minutes::BIGINT), event_ts), user_id, count(*), sum(order_total)
FROM _ontime
WHERE event_type = 'purchase' AND user_id IS NOT NULL
GROUP BY ALL
ON CONFLICT DO UPDATE SET orders = orders + EXCLUDED.orders, amount = amount + EXCLUDED.amount
