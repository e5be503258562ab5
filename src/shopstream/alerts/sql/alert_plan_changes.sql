-- The state changes of the batch's plan (_alert_plan), one row each, in the order they
-- happened to an alert, each with the alert's status right after it.
SELECT
    p.* EXCLUDE (status, live_status, opened, escalated, resolves),
    c.change,
    CASE c.change WHEN 'resolved' THEN 'resolved' ELSE p.live_status END AS status,
    CASE c.change WHEN 'resolved' THEN 'auto' END AS actor,
    c.change_order
FROM _alert_plan AS p
JOIN (VALUES ('opened', 1), ('escalated', 2), ('resolved', 3)) AS c (change, change_order)
    ON (c.change = 'opened' AND p.opened)
    OR (c.change = 'escalated' AND p.escalated)
    OR (c.change = 'resolved' AND p.resolves)
