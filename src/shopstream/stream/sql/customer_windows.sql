-- Orders and spend per customer and window of the suspicious-customer rule (state).
CREATE TABLE IF NOT EXISTS customer_windows (
    window_start TIMESTAMPTZ,
    user_id VARCHAR,
    orders BIGINT,
    amount DECIMAL(18, 2),
    PRIMARY KEY (window_start, user_id)
)
