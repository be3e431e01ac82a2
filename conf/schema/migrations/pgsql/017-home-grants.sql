-- 017: every portal account reaches its own client through a grant (issue 14), whoever
-- wrote the account: a trigger gives each new portal_accounts row its home grant (the
-- representative's scopes and days, or every scope for the client's own account), and
-- accounts written since 014 without one get it now. The client views, a
-- representative's status and the portal_grants view all read grants, so an account
-- written by another program is seen like one the module wrote.
CREATE FUNCTION portal_accounts_home_grant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_grants (account_id, client_id, representative_id, scopes, starts_at,
                                ends_at, created_at)
    SELECT NEW.id, NEW.client_id, NEW.representative_id,
           coalesce((SELECT r.scopes FROM representatives r WHERE r.id = NEW.representative_id),
                    'messages billing forms appointments'),
           (SELECT r.access_starts_at FROM representatives r WHERE r.id = NEW.representative_id),
           (SELECT r.access_ends_at FROM representatives r WHERE r.id = NEW.representative_id),
           NEW.created_at;
    RETURN NEW;
END;
$$;
CREATE TRIGGER portal_accounts_home_grant AFTER INSERT ON portal_accounts
FOR EACH ROW EXECUTE FUNCTION portal_accounts_home_grant();
INSERT INTO account_grants (account_id, client_id, representative_id, created_at)
    SELECT a.id, a.client_id, a.representative_id, a.created_at FROM portal_accounts a
    WHERE NOT EXISTS (SELECT 1 FROM account_grants g
                      WHERE g.account_id = a.id AND g.client_id = a.client_id);
