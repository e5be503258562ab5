-- Per search query (trimmed, lower case) and 5-minute window.
CREATE TABLE IF NOT EXISTS search_activity (
    window_start TIMESTAMPTZ,
    query VARCHAR,
    searches BIGINT,
    results BIGINT,
    zero_results BIGINT,
    PRIMARY KEY (window_start, query)
)
