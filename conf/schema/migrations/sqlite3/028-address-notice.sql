-- 028: the notice of an address change (issue 14). When staff (or the roster sync)
-- change the email address of a person who has an active portal account, the OLD
-- address gets a short notice through the outbox, queued in the change's own
-- transaction: an outbox row of purpose 'address_notice', to_address the old
-- address, with the person it is about (client_id; representative_id for a
-- representative's), whose first name and language the worker reads at sending.
-- SQLite cannot widen a CHECK constraint: the table is rebuilt with the same rows
-- and ids, and its indexes made again.
CREATE TABLE outbox_new (
    id                INTEGER PRIMARY KEY,
    invitation_id     INTEGER REFERENCES invitations (id),
    purpose           TEXT    NOT NULL DEFAULT 'invitation'
                      CHECK (purpose IN ('invitation', 'test_client', 'test_representative',
                                         'address_notice')),
    to_address        TEXT,
    message_id        TEXT    NOT NULL UNIQUE,
    status            TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    lease_until       INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    claim_token       TEXT,
    language          TEXT,
    bounce_type       TEXT CHECK (bounce_type IN ('hard', 'soft')),
    bounced_at        INTEGER,
    bounce_reason     TEXT,
    bounce_cleared_at INTEGER,
    client_id         INTEGER REFERENCES clients (id),
    representative_id INTEGER REFERENCES representatives (id)
);
INSERT INTO outbox_new (id, invitation_id, purpose, to_address, message_id, status, attempts,
                        next_attempt_at, lease_until, last_error, created_at, sent_at,
                        claim_token, language, bounce_type, bounced_at, bounce_reason,
                        bounce_cleared_at)
SELECT id, invitation_id, purpose, to_address, message_id, status, attempts,
       next_attempt_at, lease_until, last_error, created_at, sent_at,
       claim_token, language, bounce_type, bounced_at, bounce_reason, bounce_cleared_at
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_invitation ON outbox (invitation_id, id);
CREATE INDEX outbox_by_claim ON outbox (claim_token) WHERE claim_token IS NOT NULL;
CREATE INDEX outbox_by_sent_at ON outbox (sent_at) WHERE status = 'sent';
CREATE INDEX outbox_unsent ON outbox (status, id) WHERE status <> 'sent';
-- a client's notices (the client's emails list), written only by notice rows
CREATE INDEX outbox_by_client ON outbox (client_id, id) WHERE client_id IS NOT NULL;
