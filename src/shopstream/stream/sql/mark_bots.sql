-- Step 4e: the flagged sessions' later events stay out of the real-time windows.
UPDATE open_sessions SET is_bot = true
WHERE NOT is_bot AND session_id IN (SELECT entity_id FROM audit WHERE rule = 'bot_session' AND entity_kind = 'session')
