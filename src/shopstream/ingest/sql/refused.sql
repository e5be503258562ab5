-- The fingerprints of the refused records (_refused_in: _i, _position, text = the
-- record as received without its line end), in _i order: the md5 of the text. One
-- whose text is already in the quarantine, or earlier in this batch, is a re-sent
-- copy (_copy): a duplicate, not a second quarantine row.
WITH fingerprinted AS (
    SELECT _i, _position, md5(coalesce(text, '')) AS fingerprint FROM _refused_in
)
SELECT
    fingerprint,
    fingerprint IN (SELECT fingerprint FROM quarantine)
        OR row_number() OVER (PARTITION BY fingerprint ORDER BY _position) > 1 AS _copy
FROM fingerprinted
ORDER BY _i
