-- Outbox rows some sink ($sinks, a list of names) has not finished yet, oldest first,
-- with the names of those sinks.
SELECT o.*, list(s.sink ORDER BY s.sink) AS sinks
FROM alert_outbox AS o
CROSS JOIN (SELECT unnest($sinks::VARCHAR[]) AS sink) AS s
WHERE NOT EXISTS (SELECT 1 FROM alert_deliveries AS d WHERE d.seq = o.seq AND d.sink = s.sink)
GROUP BY ALL
ORDER BY o.seq
