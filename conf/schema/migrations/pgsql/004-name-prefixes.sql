-- 004: search by name-word prefix (src/core/pm_collate.c). client_name_prefixes holds,
-- per client, the match key of every prefix (1 to 16 characters) of every name
-- word, once each (and each followed by '-' and the key of another name word's first
-- letter, for two-word queries), with a copy of the client's sort key: a query word is one
-- equality on the primary key, which yields its clients already in list order, so
-- a page costs the same at 1,000 clients as at 100,000. It replaces
-- client_name_keys (one key per word, searched as a range that had to be sorted).
-- Keys are hex text compared byte-wise (COLLATE "C"). Every client's keys are
-- computed again by the module on the next list or search (sort_key NULL is the
-- "keys missing" mark), so this migration only makes the place.
CREATE TABLE client_name_prefixes (
    prefix    text   COLLATE "C" NOT NULL,
    sort_key  text   COLLATE "C" NOT NULL,
    client_id bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (prefix, sort_key, client_id)
);
-- a second query word, a client's keys replaced, a client deleted
CREATE INDEX client_name_prefixes_by_client ON client_name_prefixes (client_id, prefix);
DROP TABLE client_name_keys;
UPDATE clients SET sort_key = NULL;
