-- 024: a bounced address confirmed by staff. A hard bounce (018) refuses new email
-- to that recipient's address until staff save the address again, whether changed or
-- the same one after checking it with the person (their mailbox fixed): that save
-- stamps the bounce bounce_cleared_at, and a cleared bounce no longer refuses.
-- The bounce itself stays recorded (the invitation's history still says it bounced).
ALTER TABLE outbox ADD COLUMN bounce_cleared_at INTEGER;
