-- A user resolves a live alert; if the condition still holds, the next anomaly opens a new one.
UPDATE alerts SET status = 'resolved', resolved_at = $now, resolved_by = $by, updated_at = $now
WHERE alert_id = $alert_id AND status <> 'resolved'
