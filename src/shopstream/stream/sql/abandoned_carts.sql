-- Carts with items whose session ended (inactivity timeout) without a purchase.
CREATE TABLE IF NOT EXISTS abandoned_carts (
    session_id VARCHAR,
    last_activity TIMESTAMPTZ,
    abandoned_at TIMESTAMPTZ,
    user_id VARCHAR,
    country VARCHAR,
    device VARCHAR,
    channel VARCHAR,
    units BIGINT,
    value DECIMAL(18, 2),
    reached_checkout BOOLEAN,
    PRIMARY KEY (session_id, last_activity)
)
