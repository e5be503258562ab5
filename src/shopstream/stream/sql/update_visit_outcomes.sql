-- Step 5c: the cohort figures of window_metrics. What online visits went on to do (start a cart, a
-- checkout, a payment that failed, an order) is counted in the 5-minute window in which the visit
-- started, so a window's rates compare like with like: an incident that changes the visits starting
-- in it shows in its first windows, not 10-20 minutes later when those visits reach the till.
-- Bots' events and flagged orders are not in _kpi; a visit's first cart add is counted once (new_cart).
INSERT INTO window_metrics (window_start, cart_visits, checkout_visits, visit_orders, visit_failed_payments,
                            visit_revenue)
SELECT time_bucket(INTERVAL 5 MINUTE, o.first_ts) AS window_start,
       count(*) FILTER (WHERE e.step = 'cart'),
       count(*) FILTER (WHERE e.step = 'checkout_started'),
       count(*) FILTER (WHERE e.step = 'purchase'),
       count(*) FILTER (WHERE e.step = 'purchase_failed'),
       coalesce(sum(e.order_total) FILTER (WHERE e.step = 'purchase'), 0)
FROM (
    SELECT session_id, 'cart' AS step, NULL::DECIMAL(18, 2) AS order_total FROM _batch_sessions WHERE new_cart
    UNION ALL
    SELECT session_id, event_type::VARCHAR, order_total
    FROM _kpi WHERE event_type IN ('checkout_started', 'purchase', 'purchase_failed')
) AS e
JOIN open_sessions AS o USING (session_id)
WHERE o.channel <> 'pos' AND NOT o.is_bot
GROUP BY 1
ON CONFLICT DO UPDATE SET
    cart_visits = cart_visits + EXCLUDED.cart_visits,
    checkout_visits = checkout_visits + EXCLUDED.checkout_visits,
    visit_orders = visit_orders + EXCLUDED.visit_orders,
    visit_failed_payments = visit_failed_payments + EXCLUDED.visit_failed_payments,
    visit_revenue = visit_revenue + EXCLUDED.visit_revenue
