-- What one micro-batch does to the alerts: one row per alert it opens, updates or
-- resolves, holding the alert's columns after the change and what changed (opened,
-- escalated, resolves). Inputs: _alert_anomalies (ANOMALY_SCHEMA), _alert_evaluated
-- (anomaly_type, scope, window_end) and $now.
--
-- Per (anomaly_type, scope) the batch is a timeline of windows, each anomalous (it has
-- anomaly rows) or clear (evaluated without one). A clear window ends the run of
-- anomalous windows before it, and that run's alert is resolved. The first run
-- continues the live (open or acknowledged) alert if there is one; every later run, or
-- the first when nothing is live, opens a new alert.
WITH severities (severity, severity_rank) AS (
    VALUES ('low', 1), ('medium', 2), ('high', 3), ('critical', 4)
),
live AS (
    SELECT a.*, s.severity_rank AS peak_rank
    FROM alerts AS a
    JOIN severities AS s ON s.severity = a.peak_severity
    WHERE a.status IN ('open', 'acknowledged')
),
anomalous AS (
    SELECT x.*, s.severity_rank
    FROM _alert_anomalies AS x
    JOIN severities AS s ON s.severity = x.severity
),
clear AS (
    -- a window evaluated without an anomaly row; one no later than the live alert's
    -- latest anomalous window (a late evaluation) clears nothing
    SELECT DISTINCT e.anomaly_type, e.scope, e.window_end
    FROM _alert_evaluated AS e
    LEFT JOIN live AS l ON l.anomaly_type = e.anomaly_type AND l.scope = e.scope
    WHERE (l.last_window_end IS NULL OR e.window_end > l.last_window_end)
        AND NOT EXISTS (
            SELECT 1 FROM anomalous AS x
            WHERE x.anomaly_type = e.anomaly_type AND x.scope = e.scope AND x.window_end = e.window_end
        )
),
timeline AS (
    SELECT anomaly_type, scope, window_start, window_end, severity, severity_rank, description,
        observed, expected, 0 AS clear
    FROM anomalous
    UNION ALL
    SELECT anomaly_type, scope, NULL, window_end, NULL, NULL, NULL, NULL, NULL, 1
    FROM clear
),
numbered AS (
    -- run k: the anomalous windows after the k-th clear window of the pair
    SELECT *, sum(clear) OVER (
        PARTITION BY anomaly_type, scope ORDER BY window_end ROWS UNBOUNDED PRECEDING
    ) AS run
    FROM timeline
),
runs AS (
    SELECT anomaly_type, scope, run,
        count(*) AS occurrences,
        min(window_start) AS first_window_start,
        max(window_end) AS last_window_end,
        max(severity_rank) AS peak_rank
    FROM numbered
    WHERE clear = 0
    GROUP BY anomaly_type, scope, run
),
latest AS (
    -- the run's latest anomaly row (ties: the most severe, then the highest observed)
    SELECT anomaly_type, scope, run, severity, description, observed, expected
    FROM numbered
    WHERE clear = 0
    QUALIFY row_number() OVER (
        PARTITION BY anomaly_type, scope, run
        ORDER BY window_end DESC, severity_rank DESC, observed DESC, description
    ) = 1
),
ended AS (
    -- run k is ended by the (k+1)-th clear window
    SELECT DISTINCT anomaly_type, scope, run - 1 AS run FROM numbered WHERE clear = 1
),
batch_runs AS (
    SELECT r.*, l.severity, l.description, l.observed, l.expected, e.run IS NOT NULL AS resolves
    FROM runs AS r
    JOIN latest AS l USING (anomaly_type, scope, run)
    LEFT JOIN ended AS e USING (anomaly_type, scope, run)
),
continued AS (
    SELECT
        l.alert_id, l.anomaly_type, l.scope, l.status AS live_status,
        CASE WHEN b.run IS NULL THEN l.severity ELSE b.severity END AS severity,
        greatest(l.peak_rank, coalesce(b.peak_rank, 0)) AS peak_rank,
        CASE WHEN b.run IS NULL THEN l.description ELSE b.description END AS description,
        CASE WHEN b.run IS NULL THEN l.observed ELSE b.observed END AS observed,
        CASE WHEN b.run IS NULL THEN l.expected ELSE b.expected END AS expected,
        least(l.first_window_start, coalesce(b.first_window_start, l.first_window_start)) AS first_window_start,
        greatest(l.last_window_end, coalesce(b.last_window_end, l.last_window_end)) AS last_window_end,
        l.occurrences + coalesce(b.occurrences, 0) AS occurrences,
        l.opened_at, l.acknowledged_at, l.acknowledged_by,
        false AS opened,
        coalesce(b.peak_rank, 0) > l.peak_rank AS escalated,
        e.run IS NOT NULL AS resolves
    FROM live AS l
    LEFT JOIN batch_runs AS b ON b.anomaly_type = l.anomaly_type AND b.scope = l.scope AND b.run = 0
    LEFT JOIN ended AS e ON e.anomaly_type = l.anomaly_type AND e.scope = l.scope AND e.run = 0
    WHERE b.run IS NOT NULL OR e.run IS NOT NULL
),
existing AS (
    SELECT anomaly_type, scope, count(*) AS alerts FROM alerts GROUP BY anomaly_type, scope
),
new_runs AS (
    -- ordinal: the how-manieth alert of its pair, so that ids never repeat
    SELECT b.*, coalesce(x.alerts, 0) + row_number() OVER (
        PARTITION BY b.anomaly_type, b.scope ORDER BY b.run
    ) AS ordinal
    FROM batch_runs AS b
    LEFT JOIN live AS l ON l.anomaly_type = b.anomaly_type AND l.scope = b.scope
    LEFT JOIN existing AS x ON x.anomaly_type = b.anomaly_type AND x.scope = b.scope
    WHERE b.run > 0 OR l.alert_id IS NULL
),
opened AS (
    SELECT
        left(md5(concat_ws(chr(31), anomaly_type, scope, epoch_us(first_window_start)::VARCHAR,
            ordinal::VARCHAR)), 16) AS alert_id,
        anomaly_type, scope, 'open' AS live_status, severity, peak_rank, description, observed, expected,
        first_window_start, last_window_end, occurrences,
        $now::TIMESTAMPTZ AS opened_at, NULL::TIMESTAMPTZ AS acknowledged_at, NULL::VARCHAR AS acknowledged_by,
        true AS opened, false AS escalated, resolves
    FROM new_runs
),
changed AS (
    SELECT * FROM continued
    UNION ALL
    SELECT * FROM opened
)
SELECT
    c.alert_id, c.anomaly_type, c.scope,
    CASE WHEN c.resolves THEN 'resolved' ELSE c.live_status END AS status,
    c.severity, s.severity AS peak_severity, c.description, c.observed, c.expected,
    c.first_window_start, c.last_window_end, c.occurrences,
    c.opened_at, $now::TIMESTAMPTZ AS updated_at, c.acknowledged_at, c.acknowledged_by,
    CASE WHEN c.resolves THEN $now::TIMESTAMPTZ END AS resolved_at,
    CASE WHEN c.resolves THEN 'auto' END AS resolved_by,
    c.live_status, c.opened, c.escalated, c.resolves
FROM changed AS c
JOIN severities AS s ON s.severity_rank = c.peak_rank
ORDER BY c.first_window_start, c.anomaly_type, c.scope, c.alert_id
