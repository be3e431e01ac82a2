-- 018: bounces (issue 16). A bounce that comes back for an email (read by
-- portal-manager-admin bounce from the VERP envelope sender naming the outbox row)
-- is recorded on that row: bounce_type 'hard' (a 5.x.x permanent failure: the email
-- bounced; resending to the same address is refused until the address changes) or
-- 'soft' (a 4.x.x delay or a full mailbox: noted only), bounced_at when it was read,
-- bounce_reason the relay's diagnostic (at most 300 characters). A later hard bounce
-- replaces a soft one; a soft one never replaces a hard one.
ALTER TABLE outbox ADD COLUMN bounce_type text CHECK (bounce_type IN ('hard', 'soft'));
ALTER TABLE outbox ADD COLUMN bounced_at bigint;
ALTER TABLE outbox ADD COLUMN bounce_reason text;
