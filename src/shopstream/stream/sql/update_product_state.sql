-- Step 2b: catalogue updates of the batch (late ones too): the newest value of each field wins;
-- stock restarts from an inventory figure newer than the one it counts from.
INSERT INTO product_state
SELECT product_id,
       arg_max(category::VARCHAR, event_ts) FILTER (WHERE category IS NOT NULL),
       arg_max(price, event_ts) FILTER (WHERE price IS NOT NULL),
       arg_max(inventory, event_ts) FILTER (WHERE inventory IS NOT NULL),
       max(event_ts) FILTER (WHERE inventory IS NOT NULL)
FROM _batch
WHERE event_type = 'product_updated' AND product_id IS NOT NULL
GROUP BY product_id
ON CONFLICT DO UPDATE SET
    category = coalesce(EXCLUDED.category, category),
    price = coalesce(EXCLUDED.price, price),
    stock = CASE
        WHEN EXCLUDED.stock_as_of IS NOT NULL AND (stock_as_of IS NULL OR EXCLUDED.stock_as_of >= stock_as_of)
        THEN EXCLUDED.stock ELSE stock END,
    stock_as_of = CASE
        WHEN EXCLUDED.stock_as_of IS NOT NULL AND (stock_as_of IS NULL OR EXCLUDED.stock_as_of >= stock_as_of)
        THEN EXCLUDED.stock_as_of ELSE stock_as_of END
