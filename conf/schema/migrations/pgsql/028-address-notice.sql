-- 028: the notice of an address change (issue 14). When staff (or the roster sync)
-- change the email address of a person who has an active portal account, the OLD
-- address gets a short notice through the outbox, queued in the change's own
-- transaction: an outbox row of purpose 'address_notice', to_address the old
-- address, with the person it is about (client_id; representative_id for a
-- representative's), whose first name and language the worker reads at sending.
ALTER TABLE outbox DROP CONSTRAINT outbox_purpose_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_purpose_check
    CHECK (purpose IN ('invitation', 'test_client', 'test_representative', 'address_notice'));
ALTER TABLE outbox ADD COLUMN client_id bigint REFERENCES clients (id);
ALTER TABLE outbox ADD COLUMN representative_id bigint REFERENCES representatives (id);
-- a client's notices (the client's emails list), written only by notice rows
CREATE INDEX outbox_by_client ON outbox (client_id, id) WHERE client_id IS NOT NULL;
