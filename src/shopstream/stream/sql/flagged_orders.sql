-- Step 5: the batch's orders the rules of step 3 flagged: kept out of the windows.
SELECT event_id FROM audit
WHERE entity_kind = 'order' AND event_id IN (SELECT event_id FROM _ontime)
