-- Step 4b: merge the batch into the open sessions.
INSERT INTO open_sessions
SELECT session_id, user_id, country, device, channel, first_ts, last_ts, events, page_views, product_views,
       searches, cart_adds, checkouts, orders, revenue, false
FROM _batch_sessions
ON CONFLICT DO UPDATE SET
    user_id = coalesce(EXCLUDED.user_id, user_id),
    first_ts = least(first_ts, EXCLUDED.first_ts),
    last_ts = greatest(last_ts, EXCLUDED.last_ts),
    events = events + EXCLUDED.events,
    page_views = page_views + EXCLUDED.page_views,
    product_views = product_views + EXCLUDED.product_views,
    searches = searches + EXCLUDED.searches,
    cart_adds = cart_adds + EXCLUDED.cart_adds,
    checkouts = checkouts + EXCLUDED.checkouts,
    orders = orders + EXCLUDED.orders,
    revenue = revenue + EXCLUDED.revenue
