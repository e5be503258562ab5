-- The landing zone's Parquet files of accepted events (shopstream.ingest.landing):
-- the view events reads exactly these.
CREATE TABLE IF NOT EXISTS event_files (
    file     VARCHAR NOT NULL,  -- name within the landing directory
    batch_id BIGINT,            -- the batch that wrote it (null: merged or adopted)
    events   BIGINT  NOT NULL
);
