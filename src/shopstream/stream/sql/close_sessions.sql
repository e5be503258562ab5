-- Step 7b: closed sessions, with bounce (one event) and abandonment (items, no purchase).
INSERT INTO sessions
SELECT session_id, first_ts, last_ts, user_id, country, device, channel, epoch(last_ts) - epoch(first_ts),
       events, page_views, product_views, searches, cart_adds, checkouts, orders, revenue, cart_units,
       cart_value, events = 1, cart_units > 0 AND orders = 0, is_bot
FROM _closing
ON CONFLICT DO NOTHING
