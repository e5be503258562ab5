-- One row of headline numbers over a batch of shop events (and the anomaly labels beside them).
-- Inputs: `events` (the contract's events table) and `labels` (at least a `kind` column).
WITH per_session AS (
    SELECT
        session_id,
        bool_or(channel::VARCHAR IN ('web', 'app')) AS online,
        bool_or(event_type::VARCHAR = 'add_to_cart') AS carted,
        bool_or(event_type::VARCHAR = 'purchase') AS purchased
    FROM events
    WHERE session_id IS NOT NULL
    GROUP BY session_id
),
sessions AS (
    SELECT
        count(*) AS sessions,
        count(*) FILTER (WHERE online) AS online_sessions,
        count(*) FILTER (WHERE online AND purchased) AS converted_sessions,
        count(*) FILTER (WHERE online AND carted) AS cart_sessions,
        count(*) FILTER (WHERE online AND carted AND NOT purchased) AS abandoned_sessions
    FROM per_session
),
orders AS (
    SELECT count(*) AS orders, coalesce(sum(order_total), 0) AS revenue
    FROM events
    WHERE event_type::VARCHAR = 'purchase'
),
totals AS (
    SELECT
        count(*) AS events,
        histogram(event_type::VARCHAR) AS events_by_type,
        min(event_ts) AS first_ts,
        max(event_ts) AS last_ts
    FROM events
)
SELECT
    totals.events,
    totals.events_by_type,
    sessions.sessions,
    sessions.online_sessions,
    coalesce(sessions.converted_sessions / nullif(sessions.online_sessions, 0), 0) AS conversion_rate,
    sessions.cart_sessions,
    coalesce(sessions.abandoned_sessions / nullif(sessions.cart_sessions, 0), 0) AS cart_abandonment_rate,
    orders.orders,
    orders.revenue::DOUBLE AS revenue,
    coalesce(orders.revenue / nullif(orders.orders, 0), 0)::DOUBLE AS average_order_value,
    totals.first_ts,
    totals.last_ts,
    (SELECT histogram(kind::VARCHAR) FROM labels) AS anomalies_by_kind
FROM totals, sessions, orders
