-- 031: a login may reach a client again after its grant there ended (issue 14). A
-- parent whose representative access to a child ended (removed, turned off from the
-- child's card) and who is made that child's representative again joins the same
-- login to the child once more: a new grant beside the ended one, which stays as
-- history. One active grant per login and client is still the rule.
DROP INDEX account_grants_account_client;
CREATE UNIQUE INDEX account_grants_account_client ON account_grants (account_id, client_id)
    WHERE status = 'active';
CREATE INDEX account_grants_by_account ON account_grants (account_id, client_id);
