-- A user acknowledges an open alert: it stays live (updated, escalated, resolved) but is
-- known to be looked at.
UPDATE alerts SET status = 'acknowledged', acknowledged_at = $now, acknowledged_by = $by, updated_at = $now
WHERE alert_id = $alert_id AND status = 'open'
