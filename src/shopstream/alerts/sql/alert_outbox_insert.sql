-- Append state changes (_alert_changes: alert columns, change, actor, change_order) to
-- the outbox, numbered after the rows already there.
INSERT INTO alert_outbox BY NAME
SELECT
    (SELECT coalesce(max(seq), 0) FROM alert_outbox)
        + row_number() OVER (ORDER BY first_window_start, anomaly_type, scope, alert_id, change_order) AS seq,
    alert_id, change, actor, anomaly_type, scope, status, severity, peak_severity, description,
    observed, expected, first_window_start, last_window_end, occurrences,
    $now::TIMESTAMPTZ AS created_at
FROM _alert_changes
