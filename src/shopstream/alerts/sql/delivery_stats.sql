-- Per sink: outbox rows delivered, given up on (failed), skipped for their severity,
-- still pending, attempts made, and the latest failure.
SELECT
    sink,
    count(*) FILTER (WHERE outcome = 'delivered') AS delivered,
    count(*) FILTER (WHERE outcome = 'failed') AS failed,
    count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
    (SELECT count(*) FROM alert_outbox) - count(*) AS pending,
    coalesce(sum(attempts), 0) AS attempts,
    arg_max(last_error, finished_at) FILTER (WHERE outcome = 'failed') AS last_error,
    max(finished_at) FILTER (WHERE outcome = 'failed') AS last_failed_at
FROM alert_deliveries
GROUP BY sink
ORDER BY sink
