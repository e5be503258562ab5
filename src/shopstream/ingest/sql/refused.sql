-- The refused records (_refused_in) with the md5 of their text as received; one whose
-- text is already in the quarantine, or earlier in this batch, is a re-sent copy: a
-- duplicate, not a second quarantine row.
WITH fingerprinted AS (
    SELECT *, md5(coalesce(rtrim(raw, chr(10) || chr(13)), '')) AS fingerprint FROM _refused_in
)
SELECT
    *,
    fingerprint IN (SELECT fingerprint FROM quarantine)
        OR row_number() OVER (PARTITION BY fingerprint ORDER BY _position) > 1 AS _copy
FROM fingerprinted
ORDER BY _position
