-- Step 1: count the batch's events that arrived behind the watermark.
INSERT INTO late_events
SELECT time_bucket(INTERVAL 1 MINUTE, event_ts) AS window_start,
       event_type::VARCHAR AS event_type,
       count(*) AS events,
       max(epoch($watermark::TIMESTAMPTZ) - epoch(event_ts)) AS max_lateness_seconds
FROM _late
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    events = events + EXCLUDED.events,
    max_lateness_seconds = greatest(max_lateness_seconds, EXCLUDED.max_lateness_seconds)
