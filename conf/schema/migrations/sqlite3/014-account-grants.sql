-- 014: what a portal account may reach, apart from the account itself (issue 14).
-- An account is a login (portal_accounts); a grant lets it reach one client, as
-- that client (representative_id NULL) or as one of the client's representatives.
-- One person with two children in care has one account and two grants.
-- scopes: the parts of the portal the grant opens, space-separated names from
-- messages, billing, forms, appointments (a client's own grant: all four).
-- starts_at / ends_at: epoch seconds (NULL: open); outside them the grant is
-- inactive without anyone changing the row. status 'ended' is final: a grant ended
-- by staff, by the representative's removal or at the client's majority.
-- Every existing account gets the grant it had implicitly: its own client, as
-- itself or as its representative, all scopes, no dates.
CREATE TABLE account_grants (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES portal_accounts (id),
    client_id         INTEGER NOT NULL REFERENCES clients (id),
    representative_id INTEGER REFERENCES representatives (id),
    scopes            TEXT    NOT NULL DEFAULT 'messages billing forms appointments',
    starts_at         INTEGER,
    ends_at           INTEGER,
    status            TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    created_at        INTEGER NOT NULL,
    ended_at          INTEGER,
    ended_by          TEXT,
    end_reason        TEXT,
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);
CREATE UNIQUE INDEX account_grants_account_client ON account_grants (account_id, client_id);
CREATE INDEX account_grants_by_client ON account_grants (client_id, id);
CREATE INDEX account_grants_by_representative ON account_grants (representative_id)
    WHERE representative_id IS NOT NULL;
INSERT INTO account_grants (account_id, client_id, representative_id, created_at)
    SELECT id, client_id, representative_id, created_at FROM portal_accounts;
