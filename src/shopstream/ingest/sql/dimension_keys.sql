-- Products and customers shopstream knows: from entity files and from accepted
-- product_updated / user_registered events. Facts that name others are held.
CREATE TABLE IF NOT EXISTS dimension_keys (
    kind VARCHAR NOT NULL,  -- 'product' or 'customer'
    id   VARCHAR NOT NULL
);
