-- The refused records of _decided with their text as received (typed rows rebuilt as
-- JSON in _rebuilt) and its md5; a record whose text is already in the quarantine, or
-- earlier in this batch, is a re-sent copy: a duplicate, not a second quarantine row.
WITH refused AS (
    SELECT d.*, coalesce(d._raw, b._json) AS raw
    FROM _decided AS d
    LEFT JOIN _rebuilt AS b USING (_position)
    WHERE d._outcome = 'quarantined'
),
fingerprinted AS (
    SELECT *, md5(coalesce(rtrim(raw, chr(10) || chr(13)), '')) AS fingerprint FROM refused
)
SELECT
    *,
    fingerprint IN (SELECT fingerprint FROM quarantine)
        OR row_number() OVER (PARTITION BY fingerprint ORDER BY _position) > 1 AS _copy
FROM fingerprinted
