-- Step 5f: per category, country and 5-minute window.
INSERT INTO category_activity
SELECT window_start, category, country,
       count(*) FILTER (WHERE kind = 'product_view'),
       count(*) FILTER (WHERE kind = 'add_to_cart'),
       count(*) FILTER (WHERE kind = 'purchase'),
       sum(units), sum(revenue)
FROM _product_events
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    views = views + EXCLUDED.views,
    cart_adds = cart_adds + EXCLUDED.cart_adds,
    orders = orders + EXCLUDED.orders,
    units = units + EXCLUDED.units,
    revenue = revenue + EXCLUDED.revenue
