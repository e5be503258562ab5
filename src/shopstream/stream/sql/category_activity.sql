-- Per category, country and 5-minute window: browsing, carts and sales.
CREATE TABLE IF NOT EXISTS category_activity (
    window_start TIMESTAMPTZ,
    category VARCHAR,
    country VARCHAR,
    views BIGINT,
    cart_adds BIGINT,
    orders BIGINT,
    units BIGINT,
    revenue DECIMAL(18, 2),
    PRIMARY KEY (window_start, category, country)
)
