-- The alerts the batch opens (_alert_plan).
INSERT INTO alerts BY NAME
SELECT * EXCLUDE (live_status, opened, escalated, resolves)
FROM _alert_plan
WHERE opened
