-- Step 5g: units sold per product, country and 5-minute window.
INSERT INTO product_sales
SELECT window_start, product_id, country, count(*), sum(units), sum(revenue)
FROM _product_events
WHERE kind = 'purchase'
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    orders = orders + EXCLUDED.orders,
    units = units + EXCLUDED.units,
    revenue = revenue + EXCLUDED.revenue
