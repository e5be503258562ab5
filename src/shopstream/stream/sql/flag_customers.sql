-- Step 6b: customers with too many orders, or too much spend, within one window.
INSERT INTO audit
SELECT 'suspicious_customer', 'customer', user_id, window_start, NULL, window_start, NULL, 'high',
       CASE WHEN orders >= $orders THEN orders ELSE amount END::DOUBLE,
       CASE WHEN orders >= $orders THEN $orders ELSE $amount END::DOUBLE,
       format('{} orders worth {} within {} minutes', orders, amount, $minutes::BIGINT),
       $now::TIMESTAMPTZ
FROM customer_windows
WHERE (orders >= $orders OR amount > $amount)
  AND user_id IN (SELECT user_id FROM _ontime WHERE event_type = 'purchase')
ON CONFLICT DO NOTHING
