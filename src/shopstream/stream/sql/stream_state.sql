-- Where event time stands, in microseconds since the epoch: the newest event seen, the
-- watermark trailing it by the allowed lateness, the end of the last 5-minute window whose
-- metrics were checked, and how far the window tables were pruned.
CREATE TABLE IF NOT EXISTS stream_state (
    id INTEGER PRIMARY KEY,
    newest_us BIGINT,
    watermark_us BIGINT,
    checked_us BIGINT,
    pruned_us BIGINT
)
