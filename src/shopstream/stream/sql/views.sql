-- The real-time views a user reads: each is plain SQL over the tables above.
CREATE OR REPLACE VIEW sales_per_minute AS
SELECT window_start, window_start + INTERVAL 1 MINUTE AS window_end, dimension, member, revenue, refunds, orders,
       units, failed_payments, CASE WHEN orders > 0 THEN revenue / orders END AS average_order_value
FROM sales;

CREATE OR REPLACE VIEW watermark AS
SELECT make_timestamptz(newest_us) AS newest_event, make_timestamptz(watermark_us) AS watermark
FROM stream_state;

CREATE OR REPLACE VIEW trending_products AS
SELECT a.product_id, any_value(a.category) AS category, sum(a.views) AS views, sum(a.cart_adds) AS cart_adds,
       sum(a.orders) AS orders, sum(a.units) AS units,
       sum(a.views) + 5 * sum(a.cart_adds) + 20 * sum(a.orders) AS score,
       rank() OVER (ORDER BY sum(a.views) + 5 * sum(a.cart_adds) + 20 * sum(a.orders) DESC) AS rank
FROM product_activity AS a, stream_state AS s
WHERE a.window_start >= make_timestamptz(s.newest_us) - INTERVAL 10 MINUTE
GROUP BY a.product_id;

CREATE OR REPLACE VIEW active_carts AS
SELECT o.session_id, o.user_id, o.country, o.device, o.channel, o.first_ts, o.last_ts,
       sum(l.quantity) AS units, sum(l.quantity * coalesce(l.unit_price, 0)) AS value
FROM open_sessions AS o JOIN cart_lines AS l USING (session_id)
WHERE l.quantity > 0 AND o.orders = 0 AND NOT o.is_bot
GROUP BY ALL;

CREATE OR REPLACE VIEW browsing_sessions AS
SELECT time_bucket(INTERVAL 5 MINUTE, first_ts) AS window_start, country, device,
       count(*) AS sessions, avg(duration_seconds) AS average_duration_seconds,
       avg(page_views + product_views) AS average_depth, avg(bounced::INT) AS bounce_rate,
       avg((orders > 0)::INT) AS conversion_rate
FROM sessions
WHERE NOT is_bot
GROUP BY ALL;

-- stock, sales velocity over the last hour of event time and days of cover
CREATE OR REPLACE VIEW inventory AS
SELECT p.product_id, p.category, p.stock, p.stock_as_of,
       coalesce(v.units, 0) AS units_per_hour,
       CASE WHEN v.units > 0 THEN greatest(p.stock, 0) / (v.units * 24.0) END AS days_of_cover
FROM product_state AS p
LEFT JOIN (
    SELECT product_id, sum(units) AS units FROM product_sales, stream_state AS s
    WHERE window_start >= make_timestamptz(s.newest_us) - INTERVAL 60 MINUTE
    GROUP BY product_id
) AS v USING (product_id);

CREATE OR REPLACE VIEW anomaly_stats AS
SELECT time_bucket(INTERVAL 1 MINUTE, event_ts) AS window_start, coalesce(country, 'unknown') AS country, rule,
       count(*) AS flagged
FROM audit
GROUP BY ALL;
