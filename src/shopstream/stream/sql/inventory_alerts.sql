-- Restock alerts (stock at or below the threshold, or running out within the horizon) and
-- high-demand alerts (many units sold in a 10-minute window).
CREATE TABLE IF NOT EXISTS inventory_alerts (
    kind VARCHAR,
    product_id VARCHAR,
    window_start TIMESTAMPTZ,
    category VARCHAR,
    stock BIGINT,
    units_per_hour DOUBLE,
    hours_of_cover DOUBLE,
    units_in_window BIGINT,
    detected_at TIMESTAMPTZ,
    PRIMARY KEY (kind, product_id, window_start)
)
