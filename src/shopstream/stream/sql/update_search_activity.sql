-- Step 5c: what shoppers search for, per 5-minute window.
INSERT INTO search_activity
SELECT time_bucket(INTERVAL 5 MINUTE, event_ts), lower(trim(search_query)),
       count(*), coalesce(sum(results_count), 0), count(*) FILTER (WHERE results_count = 0)
FROM _kpi
WHERE event_type = 'search' AND search_query IS NOT NULL
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    searches = searches + EXCLUDED.searches,
    results = results + EXCLUDED.results,
    zero_results = zero_results + EXCLUDED.zero_results
