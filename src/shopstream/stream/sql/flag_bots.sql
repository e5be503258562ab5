-- Step 4d: open sessions with an impossible number of events for their duration.
INSERT INTO audit
SELECT 'bot_session', 'session', session_id, time_bucket(INTERVAL 5 MINUTE, first_ts), NULL, last_ts, country,
       'high', events, $bot_min_events::DOUBLE,
       format('{} events in {:.1f} minutes', events, (epoch(last_ts) - epoch(first_ts)) / 60.0),
       $now::TIMESTAMPTZ
FROM open_sessions
WHERE NOT is_bot AND events >= $bot_min_events
  AND events >= $bot_rate * greatest((epoch(last_ts) - epoch(first_ts)) / 60.0, 1.0)
ON CONFLICT DO NOTHING
