-- Step 4f: sessions and carts started, in the 5-minute window of their first event (and add).
INSERT INTO window_metrics (window_start, events, sessions, online_sessions, page_views, product_views, searches,
                            cart_adds, carts, checkouts, orders, online_orders, failed_payments, revenue,
                            priced_events, missing_price, missing_category)
SELECT window_start, 0, sum(sessions), sum(online_sessions), 0, 0, 0, 0, sum(carts), 0, 0, 0, 0, 0, 0, 0, 0
FROM (
    SELECT time_bucket(INTERVAL 5 MINUTE, first_ts) AS window_start, 1 AS sessions,
           (channel <> 'pos')::INT AS online_sessions, 0 AS carts
    FROM _batch_sessions WHERE new_session AND session_id NOT IN (SELECT session_id FROM open_sessions WHERE is_bot)
    UNION ALL
    SELECT time_bucket(INTERVAL 5 MINUTE, first_add), 0, 0, 1
    FROM _batch_sessions WHERE new_cart AND session_id NOT IN (SELECT session_id FROM open_sessions WHERE is_bot)
)
GROUP BY window_start
ON CONFLICT DO UPDATE SET
    sessions = sessions + EXCLUDED.sessions,
    online_sessions = online_sessions + EXCLUDED.online_sessions,
    carts = carts + EXCLUDED.carts
