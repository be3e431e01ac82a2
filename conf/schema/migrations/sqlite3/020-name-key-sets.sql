-- 020: search keys written in key order, and found again without a second index
-- (src/core/pm_client_keys.c). client_name_prefixes loses its index by client
-- (client_id, prefix), which cost as much to write as the table itself and took every
-- new row to a random page: a client's rows are found again from its key set — the
-- sort key and the prefixes they were made with — one row per client in
-- client_name_key_sets, and a second query word is probed on the primary key with
-- the candidate's sort key. New keys gather in client_name_prefixes_stage during a
-- transaction and go into client_name_prefixes in one INSERT ... SELECT ... ORDER BY
-- at its end: a 100,000-client first load's 2.4 million rows fill the pages one
-- after the other. On SQLite the stage is a TEMP table each connection makes when
-- it first needs it (pm_client_keys.c): its pages never reach this file or its WAL.
-- Deleting a client (the product discharges instead) still removes its rows through
-- the foreign key, by a scan of client_name_prefixes.
-- Every client's keys are computed again (sort_key NULL is the "keys missing" mark:
-- portal-manager-admin init does it after the migrations, or the module on the next
-- list or search).
DROP INDEX client_name_prefixes_by_client;
DELETE FROM client_name_prefixes;
CREATE TABLE client_name_key_sets (
    client_id INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    sort_key  TEXT    NOT NULL,
    prefixes  TEXT    NOT NULL   -- the prefix keys, separated by spaces
);
UPDATE clients SET sort_key = NULL;
