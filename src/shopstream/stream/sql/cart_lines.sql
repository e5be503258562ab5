-- The lines of open carts (state): quantity and the last price shown.
CREATE TABLE IF NOT EXISTS cart_lines (
    session_id VARCHAR,
    product_id VARCHAR,
    quantity BIGINT,
    unit_price DECIMAL(18, 2),
    PRIMARY KEY (session_id, product_id)
)
