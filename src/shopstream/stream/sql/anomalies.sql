-- Metric anomalies found on closed 5-minute windows against their rolling baseline.
CREATE TABLE IF NOT EXISTS anomalies (
    window_start TIMESTAMPTZ,
    window_end TIMESTAMPTZ,
    anomaly_type VARCHAR,
    scope VARCHAR,
    severity VARCHAR,
    description VARCHAR,
    observed DOUBLE,
    expected DOUBLE,
    detected_at TIMESTAMPTZ,
    PRIMARY KEY (window_start, anomaly_type, scope)
)
