-- Sales per minute of event time, overall (dimension 'all') and by country, category, channel
-- and store. Average order value is revenue / orders (see the sales_per_minute view).
CREATE TABLE IF NOT EXISTS sales (
    window_start TIMESTAMPTZ,
    dimension VARCHAR,
    member VARCHAR,
    revenue DECIMAL(18, 2),
    refunds DECIMAL(18, 2),
    orders BIGINT,
    units BIGINT,
    failed_payments BIGINT,
    PRIMARY KEY (window_start, dimension, member)
)
