-- 020: search keys written in key order, and no per-row checks on the way in
-- (src/core/pm_client_keys.c). client_name_prefixes is made again without its index by
-- client (client_id, prefix), which cost as much to write as the table itself and took
-- every new row to a random page, and without its foreign key, whose check looked up
-- the client once per row (2.4 million lookups in a 100,000-client first load, three
-- quarters of the time its rows took). A client's rows are found again from its key
-- set — the sort key and the prefixes they were made with — one row per client in
-- client_name_key_sets, and a second query word is probed on the primary key with the
-- candidate's sort key. Deleting a client (the product discharges instead) removes its
-- rows by the trigger below, a scan of the table as the foreign key's cascade was.
-- The admin tool gathers new keys in a stage and moves them into client_name_prefixes
-- with one INSERT ... SELECT ... ORDER BY before it commits: the rows fill the pages one
-- after the other. On SQLite the stage is a TEMP table each admin-tool connection makes
-- when it first needs it: its pages never reach this file or its WAL.
-- Every client's keys are computed again (sort_key NULL is the "keys missing" mark:
-- portal-manager-admin init does it after the migrations, or the module on the next
-- list or search).
DROP TABLE client_name_prefixes;
CREATE TABLE client_name_prefixes (
    prefix    TEXT    NOT NULL,
    sort_key  TEXT    NOT NULL,
    client_id INTEGER NOT NULL,
    PRIMARY KEY (prefix, sort_key, client_id)
) WITHOUT ROWID;
CREATE TABLE client_name_key_sets (
    client_id INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    sort_key  TEXT    NOT NULL,
    prefixes  TEXT    NOT NULL   -- the prefix keys, separated by spaces
);
CREATE TRIGGER clients_keys_deleted AFTER DELETE ON clients
BEGIN
    DELETE FROM client_name_prefixes WHERE client_id = OLD.id;
END;
UPDATE clients SET sort_key = NULL;
