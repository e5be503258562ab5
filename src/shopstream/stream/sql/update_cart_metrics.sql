-- Step 7d: carts by the window of their last activity, country and device.
INSERT INTO cart_metrics
SELECT time_bucket(INTERVAL 5 MINUTE, last_ts), coalesce(country, 'unknown'), coalesce(device, 'unknown'),
       count(*),
       count(*) FILTER (WHERE cart_units > 0 AND orders = 0),
       count(*) FILTER (WHERE orders > 0),
       coalesce(sum(cart_value) FILTER (WHERE cart_units > 0 AND orders = 0), 0)
FROM _closing
WHERE cart_adds > 0 AND NOT is_bot
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    carts = carts + EXCLUDED.carts,
    abandoned = abandoned + EXCLUDED.abandoned,
    converted = converted + EXCLUDED.converted,
    lost_value = lost_value + EXCLUDED.lost_value
