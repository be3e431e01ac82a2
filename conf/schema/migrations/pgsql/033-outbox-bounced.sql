-- 033: the Outbox screen's "Bounced" filter (GET /admin/outbox?status=bounced) reads
-- the hard bounces newest first down this index, not every email ever sent until a
-- page of bounced ones turns up (the whole outbox when there are none). Only rows
-- with a hard bounce are in it: portal-manager-admin bounce writes it.
CREATE INDEX outbox_bounced ON outbox (id) WHERE bounce_type = 'hard';
