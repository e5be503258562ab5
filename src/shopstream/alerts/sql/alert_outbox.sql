-- Every state change of an alert, written in the transaction that made it, with the
-- alert as it stood after the change: what the sinks send. Survives a crash; the
-- dispatcher delivers rows that alert_deliveries does not yet hold for a sink.
CREATE TABLE IF NOT EXISTS alert_outbox (
    seq                BIGINT PRIMARY KEY,    -- delivery order, and the notification's id
    alert_id           VARCHAR NOT NULL,
    change             VARCHAR NOT NULL,      -- opened | escalated | acknowledged | resolved
    actor              VARCHAR,               -- who: 'auto' or a user (acknowledged, resolved)
    anomaly_type       VARCHAR NOT NULL,
    scope              VARCHAR NOT NULL,
    status             VARCHAR NOT NULL,
    severity           VARCHAR NOT NULL,
    peak_severity      VARCHAR NOT NULL,
    description        VARCHAR NOT NULL,
    observed           DOUBLE  NOT NULL,
    expected           DOUBLE,
    first_window_start TIMESTAMPTZ NOT NULL,
    last_window_end    TIMESTAMPTZ NOT NULL,
    occurrences        BIGINT  NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
