-- Step 4a: the batch's on-time events per session, with whether each session and cart is new.
SELECT b.*,
       o.session_id IS NULL AS new_session,
       b.first_add IS NOT NULL AND coalesce(o.cart_adds, 0) = 0 AS new_cart
FROM (
    SELECT session_id,
           arg_max(user_id, event_ts) FILTER (WHERE user_id IS NOT NULL) AS user_id,
           arg_min(country::VARCHAR, event_ts) AS country,
           arg_min(device::VARCHAR, event_ts) AS device,
           arg_min(channel::VARCHAR, event_ts) AS channel,
           min(event_ts) AS first_ts,
           max(event_ts) AS last_ts,
           count(*) AS events,
           count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
           count(*) FILTER (WHERE event_type = 'product_view') AS product_views,
           count(*) FILTER (WHERE event_type = 'search') AS searches,
           count(*) FILTER (WHERE event_type = 'add_to_cart') AS cart_adds,
           count(*) FILTER (WHERE event_type = 'checkout_started') AS checkouts,
           count(*) FILTER (WHERE event_type = 'purchase') AS orders,
           coalesce(sum(order_total) FILTER (WHERE event_type = 'purchase'), 0) AS revenue,
           min(event_ts) FILTER (WHERE event_type = 'add_to_cart') AS first_add
    FROM _ontime
    WHERE session_id IS NOT NULL
    GROUP BY session_id
) AS b
LEFT JOIN open_sessions AS o USING (session_id)
