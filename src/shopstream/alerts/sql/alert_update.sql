-- Carry the batch's changes (_alert_plan) into the alerts it continues.
UPDATE alerts SET
    status = p.status,
    severity = p.severity,
    peak_severity = p.peak_severity,
    description = p.description,
    observed = p.observed,
    expected = p.expected,
    first_window_start = p.first_window_start,
    last_window_end = p.last_window_end,
    occurrences = p.occurrences,
    updated_at = p.updated_at,
    resolved_at = p.resolved_at,
    resolved_by = p.resolved_by
FROM _alert_plan AS p
WHERE alerts.alert_id = p.alert_id AND NOT p.opened
