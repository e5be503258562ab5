-- Per product, country and 5-minute window: units sold (regional inventory, velocity).
CREATE TABLE IF NOT EXISTS product_sales (
    window_start TIMESTAMPTZ,
    product_id VARCHAR,
    country VARCHAR,
    orders BIGINT,
    units BIGINT,
    revenue DECIMAL(18, 2),
    PRIMARY KEY (window_start, product_id, country)
)
