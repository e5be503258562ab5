-- Event ids accepted within the dedupe horizon (event time); older keys are pruned.
CREATE TABLE IF NOT EXISTS dedupe_keys (
    event_id VARCHAR NOT NULL,
    event_ts TIMESTAMPTZ NOT NULL
);
