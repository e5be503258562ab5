-- Step 5b: the 5-minute vital signs of the batch's events (sessions and carts: step 4f).
INSERT INTO window_metrics (window_start, events, sessions, online_sessions, page_views, product_views, searches,
                            cart_adds, carts, checkouts, orders, online_orders, failed_payments, revenue,
                            priced_events, missing_price, missing_category)
SELECT time_bucket(INTERVAL 5 MINUTE, event_ts) AS window_start,
       count(*) FILTER (WHERE session_id IS NOT NULL),
       0, 0,
       count(*) FILTER (WHERE event_type = 'page_view'),
       count(*) FILTER (WHERE event_type = 'product_view'),
       count(*) FILTER (WHERE event_type = 'search'),
       count(*) FILTER (WHERE event_type = 'add_to_cart'),
       0,
       count(*) FILTER (WHERE event_type = 'checkout_started'),
       count(*) FILTER (WHERE event_type = 'purchase'),
       count(*) FILTER (WHERE event_type = 'purchase' AND channel <> 'pos'),
       count(*) FILTER (WHERE event_type = 'purchase_failed'),
       coalesce(sum(order_total) FILTER (WHERE event_type = 'purchase'), 0),
       count(*) FILTER (WHERE event_type IN ('product_view', 'add_to_cart', 'remove_from_cart', 'update_cart')),
       count(*) FILTER (WHERE event_type IN ('product_view', 'add_to_cart', 'remove_from_cart', 'update_cart')
                          AND unit_price IS NULL),
       count(*) FILTER (WHERE event_type IN ('product_view', 'add_to_cart', 'remove_from_cart', 'update_cart')
                          AND category IS NULL)
FROM _kpi
GROUP BY 1
ON CONFLICT DO UPDATE SET
    events = events + EXCLUDED.events,
    page_views = page_views + EXCLUDED.page_views,
    product_views = product_views + EXCLUDED.product_views,
    searches = searches + EXCLUDED.searches,
    cart_adds = cart_adds + EXCLUDED.cart_adds,
    checkouts = checkouts + EXCLUDED.checkouts,
    orders = orders + EXCLUDED.orders,
    online_orders = online_orders + EXCLUDED.online_orders,
    failed_payments = failed_payments + EXCLUDED.failed_payments,
    revenue = revenue + EXCLUDED.revenue,
    priced_events = priced_events + EXCLUDED.priced_events,
    missing_price = missing_price + EXCLUDED.missing_price,
    missing_category = missing_category + EXCLUDED.missing_category
