-- mod_portal_manager schema for SQLite (DBDriver sqlite3), schema version 1.
-- Times are integer Unix seconds. Booleans are 0/1. *_key columns hold the
-- case-folded name (computed by the module and the admin tool) so that prefix
-- search and keyset paging use plain byte-ordered indexes.
-- Statements end with ';' at the end of a line (the admin tool splits on that;
-- trigger bodies end with a line 'END;').

-- portal-manager-admin init also switches the file to WAL (PRAGMA journal_mode):
-- readers, and the statement prepares of a new connection, never wait for a writer.

CREATE TABLE schema_version (
    version INTEGER NOT NULL
);

CREATE TABLE staff (
    username     TEXT    NOT NULL PRIMARY KEY,
    display_name TEXT    NOT NULL DEFAULT '',
    all_clients  INTEGER NOT NULL DEFAULT 0 CHECK (all_clients IN (0, 1)),
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE clients (
    id                      INTEGER PRIMARY KEY,
    first_name              TEXT    NOT NULL,
    last_name               TEXT    NOT NULL,
    first_name_key          TEXT    NOT NULL,
    last_name_key           TEXT    NOT NULL,
    date_of_birth           TEXT    NOT NULL CHECK (date_of_birth GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    email                   TEXT,
    declined_at             INTEGER,
    declined_by             TEXT,
    declined_note           TEXT,
    statement_notifications INTEGER NOT NULL DEFAULT 1 CHECK (statement_notifications IN (0, 1)),
    created_at              INTEGER NOT NULL DEFAULT 0,
    updated_at              INTEGER NOT NULL DEFAULT 0
);
-- the Client dropdown: sorted by last name, first name, id; prefix search on either name
CREATE INDEX clients_by_last_name ON clients (last_name_key, first_name_key, id);
CREATE INDEX clients_by_first_name ON clients (first_name_key, last_name_key, id);

CREATE TABLE staff_clients (
    username  TEXT    NOT NULL REFERENCES staff (username) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (username, client_id)
);
CREATE INDEX staff_clients_by_client ON staff_clients (client_id);

CREATE TABLE representatives (
    id           INTEGER PRIMARY KEY,
    client_id    INTEGER NOT NULL REFERENCES clients (id),
    email        TEXT    NOT NULL,
    first_name   TEXT    NOT NULL,
    last_name    TEXT    NOT NULL,
    relationship TEXT    CHECK (relationship IN ('parent', 'guardian', 'spouse', 'caregiver', 'other')),
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    removed_at   INTEGER
);
CREATE INDEX representatives_by_client ON representatives (client_id);
-- one live representative per email and client, compared case-insensitively
CREATE UNIQUE INDEX representatives_one_email ON representatives (client_id, lower(email))
    WHERE removed_at IS NULL;

CREATE TABLE invitations (
    id                INTEGER PRIMARY KEY,
    client_id         INTEGER NOT NULL REFERENCES clients (id),
    representative_id INTEGER REFERENCES representatives (id),
    email             TEXT    NOT NULL,
    token_hash        TEXT    UNIQUE,
    status            TEXT    NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'superseded', 'locked')),
    created_by        TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    responded_at      INTEGER,
    send_count        INTEGER NOT NULL DEFAULT 0,
    verify_failures   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invitations_by_client ON invitations (client_id, id);
CREATE INDEX invitations_by_representative ON invitations (representative_id, id);
-- at most one pending invitation per recipient (the client, or one representative)
CREATE UNIQUE INDEX invitations_one_pending ON invitations (client_id, coalesce(representative_id, 0))
    WHERE status = 'pending';

-- hashes of tokens replaced by a resend, so an old link can answer "superseded"
CREATE TABLE superseded_tokens (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES invitations (id),
    superseded_at INTEGER NOT NULL
);

-- one email to send: an invitation (invitation_id), or an admin's test email
-- (invitation_id NULL, to_address and the template kind in purpose)
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    invitation_id   INTEGER REFERENCES invitations (id),
    purpose         TEXT    NOT NULL DEFAULT 'invitation'
                    CHECK (purpose IN ('invitation', 'test_client', 'test_representative')),
    to_address      TEXT,
    message_id      TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_invitation ON outbox (invitation_id, id);

CREATE TABLE portal_accounts (
    id                INTEGER PRIMARY KEY,
    username          TEXT    NOT NULL,
    password_hash     TEXT    NOT NULL,
    client_id         INTEGER NOT NULL REFERENCES clients (id),
    representative_id INTEGER REFERENCES representatives (id),
    invitation_id     INTEGER REFERENCES invitations (id),
    status            TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX portal_accounts_username ON portal_accounts (lower(username));
CREATE INDEX portal_accounts_by_client ON portal_accounts (client_id);

CREATE TABLE settings (
    name       TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL DEFAULT 0,
    updated_by TEXT
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    username   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    client_id  INTEGER,
    object_id  INTEGER,
    result     TEXT    NOT NULL,
    detail     TEXT,
    remote_ip  TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_by_client ON audit_log (client_id, id);
CREATE INDEX audit_log_by_username ON audit_log (username, id);

-- the audit trail is append-only
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- INSERT OR REPLACE deletes the old row without firing delete triggers (unless
-- recursive_triggers is on): an insert may not reuse an id
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

INSERT INTO schema_version (version) VALUES (1);
