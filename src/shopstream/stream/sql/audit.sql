-- Records the detectors flagged, with the rule: kept out of the warehouse facts and KPIs.
CREATE TABLE IF NOT EXISTS audit (
    rule VARCHAR,
    entity_kind VARCHAR,
    entity_id VARCHAR,
    window_start TIMESTAMPTZ,
    event_id VARCHAR,
    event_ts TIMESTAMPTZ,
    country VARCHAR,
    severity VARCHAR,
    observed DOUBLE,
    threshold DOUBLE,
    description VARCHAR,
    detected_at TIMESTAMPTZ,
    PRIMARY KEY (rule, entity_kind, entity_id, window_start)
)
