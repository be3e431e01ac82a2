-- 008: exactly one live email per send (issue 16). A worker claims due rows under
-- its own claim token (random per pass); it renews the lease, records outcomes and
-- releases rows only where the token is still its own, so a worker whose lease ran
-- out (an old httpd generation, another instance) never works the same rows as the
-- one that took them over. NULL: not claimed.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
CREATE INDEX outbox_by_claim ON outbox (claim_token) WHERE claim_token IS NOT NULL;
