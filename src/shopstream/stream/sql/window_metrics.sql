-- The shop's vital signs per 5-minute window: what the metric detectors watch.
CREATE TABLE IF NOT EXISTS window_metrics (
    window_start TIMESTAMPTZ PRIMARY KEY,
    events BIGINT,
    sessions BIGINT,
    online_sessions BIGINT,
    page_views BIGINT,
    product_views BIGINT,
    searches BIGINT,
    cart_adds BIGINT,
    carts BIGINT,
    checkouts BIGINT,
    orders BIGINT,
    online_orders BIGINT,
    failed_payments BIGINT,
    revenue DECIMAL(18, 2),
    priced_events BIGINT,
    missing_price BIGINT,
    missing_category BIGINT,
    -- cohort figures: what the online visits that started in the window went on to do
    cart_visits BIGINT DEFAULT 0,
    checkout_visits BIGINT DEFAULT 0,
    visit_orders BIGINT DEFAULT 0,
    visit_failed_payments BIGINT DEFAULT 0,
    visit_revenue DECIMAL(18, 2) DEFAULT 0
)
