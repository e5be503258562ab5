-- Carts by the 5-minute window of their last activity, country and device, once their
-- session has closed: how many, how many abandoned or bought, and the value left behind.
CREATE TABLE IF NOT EXISTS cart_metrics (
    window_start TIMESTAMPTZ,
    country VARCHAR,
    device VARCHAR,
    carts BIGINT,
    abandoned BIGINT,
    converted BIGINT,
    lost_value DECIMAL(18, 2),
    PRIMARY KEY (window_start, country, device)
)
