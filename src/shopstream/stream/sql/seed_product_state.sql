-- Step 2a: products the stream has not seen yet start from the catalogue (entity files).
INSERT OR IGNORE INTO product_state
SELECT product_id, category::VARCHAR, price, inventory, NULL
FROM products
WHERE product_id IS NOT NULL
