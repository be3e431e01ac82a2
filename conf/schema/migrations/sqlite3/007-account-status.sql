-- 007: portal accounts staff can see, disable and enable (issue 14). Who disabled
-- an account, when, and why (the reason staff typed, at most 500 characters; it
-- never goes into the audit trail). NULL while the account is active. Usernames
-- stay unique without regard to case (portal_accounts_username on lower(username),
-- schema 1); the sample config's mod_authn_dbd query compares lower(username), so
-- that index serves every login.
ALTER TABLE portal_accounts ADD COLUMN disabled_at INTEGER;
ALTER TABLE portal_accounts ADD COLUMN disabled_by TEXT;
ALTER TABLE portal_accounts ADD COLUMN disabled_reason TEXT;
