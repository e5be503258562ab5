-- One row per committed batch: received = accepted + quarantined + duplicates (source records).
CREATE TABLE IF NOT EXISTS ledger (
    batch_id       BIGINT  NOT NULL,
    source         VARCHAR NOT NULL,
    unit           VARCHAR NOT NULL,
    start_position BIGINT  NOT NULL,
    end_position   BIGINT  NOT NULL,
    received       BIGINT  NOT NULL,
    accepted       BIGINT  NOT NULL,
    quarantined    BIGINT  NOT NULL,
    duplicates     BIGINT  NOT NULL,
    by_reason      JSON    NOT NULL,  -- {"reason": records quarantined}
    committed_at   TIMESTAMPTZ NOT NULL,
    CHECK (received = accepted + quarantined + duplicates)
);
