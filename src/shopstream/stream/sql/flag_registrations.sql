-- Step 3b: customers registered after the event that tells of them (within the clock-skew
-- allowance ingestion lets through; beyond it ingestion quarantines them).
INSERT INTO audit
SELECT 'future_registration', 'customer', user_id, time_bucket(INTERVAL 1 MINUTE, event_ts), event_id, event_ts,
       country::VARCHAR, 'medium', epoch(registered_at) - epoch(event_ts), 0,
       format('registered {} seconds after the event', (epoch(registered_at) - epoch(event_ts))::BIGINT),
       $now::TIMESTAMPTZ
FROM _batch
WHERE event_type IN ('user_registered', 'user_updated') AND registered_at > event_ts AND user_id IS NOT NULL
ON CONFLICT DO NOTHING
