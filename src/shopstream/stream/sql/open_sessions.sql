-- Sessions still open (state): an inactivity timeout behind the watermark closes them.
CREATE TABLE IF NOT EXISTS open_sessions (
    session_id VARCHAR PRIMARY KEY,
    user_id VARCHAR,
    country VARCHAR,
    device VARCHAR,
    channel VARCHAR,
    first_ts TIMESTAMPTZ,
    last_ts TIMESTAMPTZ,
    events BIGINT,
    page_views BIGINT,
    product_views BIGINT,
    searches BIGINT,
    cart_adds BIGINT,
    checkouts BIGINT,
    orders BIGINT,
    revenue DECIMAL(18, 2),
    is_bot BOOLEAN
)
