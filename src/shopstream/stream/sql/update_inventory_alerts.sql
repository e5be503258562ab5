-- Step 8: restock alerts for products the batch sold or updated (once per inventory figure), and
-- high-demand alerts for 10-minute windows in which a product sold many units.
INSERT INTO inventory_alerts
WITH touched AS (
    SELECT DISTINCT product_id FROM _product_events WHERE kind = 'purchase'
    UNION SELECT product_id FROM _batch WHERE event_type = 'product_updated' AND product_id IS NOT NULL
),
velocity AS (
    SELECT product_id, sum(units) * 60.0 / $velocity_minutes AS units_per_hour
    FROM product_sales
    WHERE window_start >= $newest::TIMESTAMPTZ - to_minutes($velocity_minutes::BIGINT)
      AND product_id IN (SELECT product_id FROM touched)
    GROUP BY product_id
)
SELECT 'restock', p.product_id, time_bucket(INTERVAL 5 MINUTE, $newest::TIMESTAMPTZ), p.category, p.stock,
       coalesce(v.units_per_hour, 0),
       CASE WHEN v.units_per_hour > 0 THEN greatest(p.stock, 0) / v.units_per_hour END,
       NULL, $now::TIMESTAMPTZ
FROM product_state AS p
JOIN touched USING (product_id)
LEFT JOIN velocity AS v USING (product_id)
WHERE (p.stock <= $restock_units OR (v.units_per_hour > 0 AND p.stock / v.units_per_hour <= $restock_hours))
  AND NOT EXISTS (
      SELECT 1 FROM inventory_alerts AS a
      WHERE a.kind = 'restock' AND a.product_id = p.product_id
        AND (p.stock_as_of IS NULL OR a.window_start >= time_bucket(INTERVAL 5 MINUTE, p.stock_as_of))
  )
UNION ALL
SELECT 'high_demand', a.product_id, time_bucket(INTERVAL 10 MINUTE, a.window_start), any_value(a.category),
       any_value(p.stock), NULL, NULL, sum(a.units), $now::TIMESTAMPTZ
FROM product_activity AS a
LEFT JOIN product_state AS p USING (product_id)
WHERE a.window_start >= time_bucket(INTERVAL 10 MINUTE, $oldest::TIMESTAMPTZ)
  AND a.product_id IN (SELECT product_id FROM _product_events WHERE kind = 'purchase')
GROUP BY ALL
HAVING sum(a.units) >= $high_demand
ON CONFLICT DO UPDATE SET units_in_window = EXCLUDED.units_in_window
