-- Step 4c: the batch's cart changes applied in event order: an update_cart sets a line's
-- quantity, adds and removes after it move it; a line never goes below zero.
INSERT OR REPLACE INTO cart_lines
WITH changes AS (
    SELECT session_id, product_id, event_type::VARCHAR AS kind, quantity, unit_price,
           row_number() OVER (PARTITION BY session_id, product_id ORDER BY event_ts, event_id) AS n
    FROM _ontime
    WHERE event_type IN ('add_to_cart', 'remove_from_cart', 'update_cart')
      AND session_id IS NOT NULL AND product_id IS NOT NULL AND quantity IS NOT NULL
),
last_set AS (
    SELECT session_id, product_id,
           max(n) FILTER (WHERE kind = 'update_cart') AS set_at,
           arg_max(unit_price, n) FILTER (WHERE unit_price IS NOT NULL) AS unit_price
    FROM changes
    GROUP BY ALL
),
moved AS (
    SELECT s.session_id, s.product_id, s.set_at, s.unit_price,
           coalesce(max(c.quantity) FILTER (WHERE c.n = s.set_at), 0) AS set_to,
           coalesce(sum(CASE c.kind WHEN 'add_to_cart' THEN c.quantity WHEN 'remove_from_cart' THEN -c.quantity END)
                    FILTER (WHERE c.n > coalesce(s.set_at, 0)), 0) AS delta
    FROM last_set AS s JOIN changes AS c USING (session_id, product_id)
    GROUP BY ALL
)
SELECT m.session_id, m.product_id,
       greatest(CASE WHEN m.set_at IS NULL THEN coalesce(l.quantity, 0) ELSE m.set_to END + m.delta, 0),
       coalesce(m.unit_price, l.unit_price)
FROM moved AS m
LEFT JOIN cart_lines AS l USING (session_id, product_id)
