-- Step 7c: the carts those sessions left behind.
INSERT INTO abandoned_carts
SELECT session_id, last_ts, last_ts + to_minutes($timeout::BIGINT), user_id, country, device, channel,
       cart_units, cart_value, checkouts > 0
FROM _closing
WHERE cart_units > 0 AND orders = 0 AND NOT is_bot
ON CONFLICT DO NOTHING
