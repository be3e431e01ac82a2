-- 009: the delivery worker's pace (setting max_emails_per_minute, issue 15): each pass
-- counts the emails sent in the last minute by every worker on this database; sent
-- rows only, by the time they went out.
CREATE INDEX outbox_by_sent_at ON outbox (sent_at) WHERE status = 'sent';
