-- What each sink made of each outbox row: one row once the sink is done with it.
-- A row without one here is pending for that sink.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    seq         BIGINT  NOT NULL,  -- alert_outbox.seq
    sink        VARCHAR NOT NULL,  -- the sink's name: log, webhook, ...
    outcome     VARCHAR NOT NULL,  -- delivered | failed (gave up) | skipped (below the sink's min severity)
    attempts    INTEGER NOT NULL,
    last_error  VARCHAR,
    finished_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (seq, sink)
);
