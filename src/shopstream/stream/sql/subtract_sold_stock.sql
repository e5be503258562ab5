-- Step 2c: units sold after a product's last inventory figure come off its stock.
UPDATE product_state
SET stock = product_state.stock - sold.units
FROM (
    SELECT line.product_id, sum(line.quantity) AS units
    FROM (SELECT event_ts, unnest(items) AS line FROM _batch WHERE event_type = 'purchase') AS lines
    JOIN product_state AS p ON p.product_id = lines.line.product_id
    WHERE p.stock_as_of IS NULL OR lines.event_ts > p.stock_as_of
    GROUP BY line.product_id
) AS sold
WHERE product_state.product_id = sold.product_id
