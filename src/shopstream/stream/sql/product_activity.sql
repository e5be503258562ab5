-- Per product and minute: views, cart adds and removes, orders, units and revenue.
CREATE TABLE IF NOT EXISTS product_activity (
    window_start TIMESTAMPTZ,
    product_id VARCHAR,
    category VARCHAR,
    views BIGINT,
    cart_adds BIGINT,
    cart_removes BIGINT,
    orders BIGINT,
    units BIGINT,
    revenue DECIMAL(18, 2),
    PRIMARY KEY (window_start, product_id)
)
