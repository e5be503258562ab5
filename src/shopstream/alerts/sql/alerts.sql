-- One row per alert (docs/alerts.md). At most one alert per (anomaly_type, scope) is
-- open or acknowledged at a time; resolved alerts stay as history.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id           VARCHAR PRIMARY KEY,  -- md5 of type, scope, first window and ordinal (16 hex)
    anomaly_type       VARCHAR NOT NULL,     -- revenue_drop, traffic_spike, ...
    scope              VARCHAR NOT NULL,     -- all, category=Electronics, customer=C123, ...
    status             VARCHAR NOT NULL,     -- open | acknowledged | resolved
    severity           VARCHAR NOT NULL,     -- of the latest anomalous window: low | medium | high | critical
    peak_severity      VARCHAR NOT NULL,     -- the highest severity seen while the alert was live
    description        VARCHAR NOT NULL,     -- of the latest anomalous window
    observed           DOUBLE  NOT NULL,
    expected           DOUBLE,
    first_window_start TIMESTAMPTZ NOT NULL,
    last_window_end    TIMESTAMPTZ NOT NULL,  -- the latest anomalous window
    occurrences        BIGINT  NOT NULL,      -- anomaly rows folded into the alert
    opened_at          TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    acknowledged_at    TIMESTAMPTZ,
    acknowledged_by    VARCHAR,
    resolved_at        TIMESTAMPTZ,
    resolved_by        VARCHAR                -- 'auto' (the condition cleared) or a user
);
