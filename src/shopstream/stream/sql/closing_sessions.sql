-- Step 7a: sessions the watermark has left behind by the inactivity timeout, with their carts.
SELECT s.*, coalesce(c.units, 0) AS cart_units, coalesce(c.value, 0)::DECIMAL(18, 2) AS cart_value
FROM open_sessions AS s
LEFT JOIN (
    SELECT session_id, sum(quantity) AS units, sum(quantity * coalesce(unit_price, 0)) AS value
    FROM cart_lines GROUP BY session_id
) AS c USING (session_id)
WHERE s.last_ts + to_minutes($timeout::BIGINT) <= $watermark
