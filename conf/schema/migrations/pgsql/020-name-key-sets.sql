-- 020: search keys written in key order, and no per-row checks on the way in
-- (src/core/pm_client_keys.c). client_name_prefixes is made again without its index by
-- client (client_id, prefix), which cost as much to write as the table itself and took
-- every new row to a random page, and without its foreign key, whose check looked up
-- the client once per row. A client's rows are found again from its key set — the sort
-- key and the prefixes they were made with — one row per client in
-- client_name_key_sets, and a second query word is probed on the primary key with the
-- candidate's sort key. Deleting a client (the product discharges instead) removes its
-- rows by the trigger below, a scan of the table as the foreign key's cascade was.
-- The admin tool gathers new keys in client_name_prefixes_stage and moves them into
-- client_name_prefixes with one INSERT ... SELECT ... ORDER BY before it commits. The
-- stage is UNLOGGED (its rows never outlive a transaction; two transactions at once
-- each see only their own) and has no index.
-- Every client's keys are computed again (sort_key NULL is the "keys missing" mark:
-- portal-manager-admin init does it after the migrations, or the module on the next
-- list or search).
DROP TABLE client_name_prefixes;
CREATE TABLE client_name_prefixes (
    prefix    text   COLLATE "C" NOT NULL,
    sort_key  text   COLLATE "C" NOT NULL,
    client_id bigint NOT NULL,
    PRIMARY KEY (prefix, sort_key, client_id)
);
CREATE TABLE client_name_key_sets (
    client_id bigint PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    sort_key  text   COLLATE "C" NOT NULL,
    prefixes  text   NOT NULL   -- the prefix keys, separated by spaces
);
CREATE UNLOGGED TABLE client_name_prefixes_stage (
    prefix    text   COLLATE "C",
    sort_key  text   COLLATE "C",
    client_id bigint
);
CREATE OR REPLACE FUNCTION clients_keys_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM client_name_prefixes WHERE client_id = OLD.id;
    RETURN OLD;
END;
$$;
CREATE TRIGGER clients_keys_deleted AFTER DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION clients_keys_deleted();
UPDATE clients SET sort_key = NULL;
