-- Step 5e: per product and minute.
INSERT INTO product_activity
SELECT minute, product_id, any_value(category),
       count(*) FILTER (WHERE kind = 'product_view'),
       count(*) FILTER (WHERE kind = 'add_to_cart'),
       count(*) FILTER (WHERE kind = 'remove_from_cart'),
       count(*) FILTER (WHERE kind = 'purchase'),
       sum(units), sum(revenue)
FROM _product_events
GROUP BY minute, product_id
ON CONFLICT DO UPDATE SET
    views = views + EXCLUDED.views,
    cart_adds = cart_adds + EXCLUDED.cart_adds,
    cart_removes = cart_removes + EXCLUDED.cart_removes,
    orders = orders + EXCLUDED.orders,
    units = units + EXCLUDED.units,
    revenue = revenue + EXCLUDED.revenue
