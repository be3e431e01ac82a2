-- 015: what each representative may reach, and the view a client portal reads (issue 14).
-- representatives.scopes / access_starts_at / access_ends_at: what staff set on the
-- representative (scopes as in account_grants; dates as epoch seconds: the first
-- second of the start day and of the day after the end day, in the practice's time
-- zone; NULL: open). Accepting copies them into the account's grant, and editing the
-- representative changes its active grants in the same transaction.
-- portal_grants: one row per username, client and scope an account may use now —
-- the account active, the grant active and inside its dates. A portal's
-- AuthzDBDQuery or application decides per client and scope from it.
ALTER TABLE representatives ADD COLUMN scopes text NOT NULL
    DEFAULT 'messages billing forms appointments';
ALTER TABLE representatives ADD COLUMN access_starts_at bigint;
ALTER TABLE representatives ADD COLUMN access_ends_at bigint;
CREATE VIEW portal_grants AS
    SELECT a.username AS username, g.client_id AS client_id, s.scope AS scope,
           g.representative_id AS representative_id, g.account_id AS account_id
    FROM account_grants g
    JOIN portal_accounts a ON a.id = g.account_id AND a.status = 'active'
    JOIN (VALUES ('messages'), ('billing'), ('forms'), ('appointments')) AS s (scope)
      ON strpos(' ' || g.scopes || ' ', ' ' || s.scope || ' ') > 0
    WHERE g.status = 'active'
      AND (g.starts_at IS NULL OR g.starts_at <= extract(epoch FROM now())::bigint)
      AND (g.ends_at IS NULL OR g.ends_at > extract(epoch FROM now())::bigint);
