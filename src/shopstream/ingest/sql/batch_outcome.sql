-- The fate of every record of a checked batch (_checked): accepted, duplicate, or
-- quarantined with its first reason. Structural, integrity and clock problems come
-- in as _reason/_field; this adds the referential checks and the dedupe by event_id:
-- the first valid copy of an id not accepted before is accepted, every other copy
-- of an accepted id is a duplicate.
WITH known_products AS (
    SELECT id FROM dimension_keys WHERE kind = 'product'
),
known_customers AS (
    SELECT id FROM dimension_keys WHERE kind = 'customer'
),
unknown_items AS (
    SELECT _position, min(item.product_id) AS product_id
    FROM (SELECT _position, unnest(items) AS item FROM _checked WHERE _reason IS NULL)
    WHERE item.product_id NOT IN (SELECT id FROM known_products)
    GROUP BY _position
),
referenced AS (
    SELECT
        c.*,
        CASE
            WHEN c._reason IS NOT NULL THEN NULL
            WHEN c.event_type <> 'product_updated' AND c.product_id IS NOT NULL
                AND c.product_id NOT IN (SELECT id FROM known_products) THEN 'product_id'
            WHEN u.product_id IS NOT NULL THEN 'items'
            WHEN c.event_type <> 'user_registered' AND c.user_id IS NOT NULL
                AND c.user_id NOT IN (SELECT id FROM known_customers) THEN 'user_id'
        END AS _ref_field,
        u.product_id AS _unknown_item
    FROM _checked AS c
    LEFT JOIN unknown_items AS u USING (_position)
),
problems AS (
    SELECT
        * EXCLUDE (_reason, _field, _ref_field, _unknown_item),
        coalesce(_reason, CASE WHEN _ref_field = 'user_id' THEN 'unknown_customer'
            WHEN _ref_field IS NOT NULL THEN 'unknown_product' END) AS _reason,
        coalesce(_field, _ref_field) AS _field,
        CASE _ref_field WHEN 'product_id' THEN product_id WHEN 'items' THEN _unknown_item
            WHEN 'user_id' THEN user_id END AS _ref_value
    FROM referenced
),
ranked AS (
    SELECT
        *,
        event_id IN (SELECT event_id FROM dedupe_keys) AS _seen,
        min(CASE WHEN _reason IS NULL AND NOT _duplicate THEN _position END) OVER (PARTITION BY event_id)
            AS _first_ok
    FROM problems
)
SELECT
    * EXCLUDE (_seen, _first_ok),
    CASE
        WHEN _duplicate THEN 'duplicate'
        WHEN event_id IS NOT NULL AND (_seen OR _position <> _first_ok) THEN 'duplicate'
        WHEN _reason IS NULL THEN 'accepted'
        ELSE 'quarantined'
    END AS _outcome
FROM ranked
