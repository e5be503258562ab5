-- Records refused by ingestion, kept as received with the reason (DESIGN.md §2).
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id VARCHAR NOT NULL,  -- stable: derived from unit and position
    source        VARCHAR NOT NULL,  -- what fed it: file, simulator, collector, replay
    unit          VARCHAR NOT NULL,  -- the file (or run) within the source
    position      BIGINT  NOT NULL,  -- the record's place in its unit
    records       BIGINT  NOT NULL,  -- source records it stands for (invoice lines of one order)
    raw           VARCHAR,           -- the record as received (JSON text, or the bad line)
    fingerprint   VARCHAR NOT NULL,  -- md5 of raw: a re-sent copy is a duplicate
    mapping       VARCHAR,           -- the mapping it went through, for replay
    reason        VARCHAR NOT NULL,  -- shopstream.ingest.rules.Reason
    field         VARCHAR,           -- the offending field
    value         VARCHAR,           -- the offending value, as text
    message       VARCHAR NOT NULL,
    event_id      VARCHAR,
    received_at   TIMESTAMPTZ NOT NULL,
    batch_id      BIGINT NOT NULL
);
