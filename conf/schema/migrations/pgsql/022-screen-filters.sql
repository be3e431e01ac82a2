-- 022: the champions' screens filter down an index of their own instead of walking a
-- whole table until a page of matching rows turns up (a filter that matched few rows
-- read all of it: 85 ms for a username with no rows at 1,000,000 audit rows).
-- The audit screen's result=denied: the denied rows only, so an audited read (result
-- ok) does not write it.
CREATE INDEX audit_log_denied ON audit_log (result, id) WHERE result = 'denied';
-- The audit screen's action filter: the rows of every action but the two every audited
-- read writes (client.view, client.search), which the trail is mostly made of and which
-- therefore neither write it nor need it (a page of them is found among the newest rows).
CREATE INDEX audit_log_other_actions ON audit_log (action, id)
    WHERE action NOT IN ('client.view', 'client.search');
-- The Outbox screen's statuses other than sent (queued, sending, retrying, failed,
-- cancelled), newest first: the emails not sent, by stored status and id; a sent email
-- leaves it.
CREATE INDEX outbox_unsent ON outbox (status, id) WHERE status <> 'sent';
