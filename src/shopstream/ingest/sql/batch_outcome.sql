-- The fate of every record of a checked batch (_checked), one row per record in no
-- particular order (the caller puts them in _row order): accepted, duplicate, or
-- quarantined with its first reason. Structural, integrity and clock problems come
-- in as _reason/_field; this adds the referential checks and the dedupe by event_id:
-- the first valid copy of an id not accepted before is accepted, every other copy of
-- an accepted id is a duplicate. Ids are looked up in dedupe_keys (the recent
-- horizon); _old_seen holds the ids of events older than the horizon that events
-- itself already has.
WITH known_products AS (
    SELECT id FROM dimension_keys WHERE kind = 'product'
),
known_customers AS (
    SELECT id FROM dimension_keys WHERE kind = 'customer'
),
unknown_items AS (
    SELECT _row, min(item.product_id) AS product_id
    FROM (SELECT _row, unnest(items) AS item FROM _checked WHERE _reason IS NULL AND items IS NOT NULL)
    WHERE item.product_id NOT IN (SELECT id FROM known_products)
    GROUP BY _row
),
referenced AS (
    SELECT
        c._row,
        c._position,
        c.event_id,
        c._duplicate,
        c._reason,
        c._field,
        CASE
            WHEN c._reason IS NOT NULL THEN NULL
            WHEN c.event_type <> 'product_updated' AND c.product_id IS NOT NULL
                AND c.product_id NOT IN (SELECT id FROM known_products) THEN 'product_id'
            WHEN u.product_id IS NOT NULL THEN 'items'
            WHEN c.event_type <> 'user_registered' AND c.user_id IS NOT NULL
                AND c.user_id NOT IN (SELECT id FROM known_customers) THEN 'user_id'
        END AS _ref_field,
        c.product_id,
        c.user_id,
        u.product_id AS _unknown_item
    FROM _checked AS c
    LEFT JOIN unknown_items AS u USING (_row)
),
problems AS (
    SELECT
        * EXCLUDE (_reason, _field, product_id, user_id, _unknown_item),
        CASE _ref_field WHEN 'product_id' THEN product_id WHEN 'items' THEN _unknown_item
            WHEN 'user_id' THEN user_id END AS _ref_value,
        coalesce(_reason, CASE WHEN _ref_field = 'user_id' THEN 'unknown_customer'
            WHEN _ref_field IS NOT NULL THEN 'unknown_product' END) AS _reason,
        coalesce(_field, _ref_field) AS _field
    FROM referenced
),
seen AS (
    SELECT DISTINCT event_id FROM dedupe_keys WHERE event_id IN (SELECT event_id FROM _checked)
    UNION
    SELECT event_id FROM _old_seen  -- ids older than the horizon, found in events itself
),
repeated AS (
    SELECT event_id, min(_position) AS first_valid
    FROM problems
    WHERE _reason IS NULL AND NOT _duplicate
    GROUP BY event_id
    HAVING count(*) > 1
)
SELECT
    p._row,
    p._reason,
    p._field,
    p._ref_value,
    CASE
        WHEN p._duplicate THEN 'duplicate'
        WHEN p.event_id IS NOT NULL AND (s.event_id IS NOT NULL OR p._position <> r.first_valid) THEN 'duplicate'
        WHEN p._reason IS NULL THEN 'accepted'
        ELSE 'quarantined'
    END AS _outcome
FROM problems AS p
LEFT JOIN seen AS s USING (event_id)
LEFT JOIN repeated AS r USING (event_id)
