-- Events that arrived behind the watermark, per minute of event time and type. They are in
-- `events` (the warehouse gets them) but no real-time window counts them.
CREATE TABLE IF NOT EXISTS late_events (
    window_start TIMESTAMPTZ,
    event_type VARCHAR,
    events BIGINT,
    max_lateness_seconds DOUBLE,
    PRIMARY KEY (window_start, event_type)
)
