-- The catalogue as the stream knows it (state): price, category and stock, where stock is the
-- last known inventory minus the units sold after it.
CREATE TABLE IF NOT EXISTS product_state (
    product_id VARCHAR PRIMARY KEY,
    category VARCHAR,
    price DECIMAL(18, 2),
    stock BIGINT,
    stock_as_of TIMESTAMPTZ
)
