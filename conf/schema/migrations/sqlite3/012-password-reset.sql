-- 012: password reset for portal accounts (issue 14). A reset link is an invitation of
-- kind 'reset' for an existing account (account_id): the same token, expiry, send
-- limit, resend cooldown, outbox and date-of-birth lock as an invitation. Using it
-- sets the account's password and marks the row 'accepted'. Invitations as staff see
-- them (the client's portal_status, the invitations list, /invitations/{id}/...) are
-- kind 'invite' only. The one-pending-per-recipient index covers both kinds: a new
-- invitation supersedes a pending reset (the person has no active account then).
ALTER TABLE invitations ADD COLUMN kind TEXT NOT NULL DEFAULT 'invite'
    CHECK (kind IN ('invite', 'reset'));
ALTER TABLE invitations ADD COLUMN account_id INTEGER REFERENCES portal_accounts (id);
CREATE INDEX invitations_by_account ON invitations (account_id, id) WHERE account_id IS NOT NULL;
