-- 003: ICU name keys (src/pm_collate.c). clients.sort_key orders the list in the
-- collation_locale setting (sort_locale says which); client_name_keys holds one
-- accent/case-free key per name word for prefix search,
-- with a copy of the client's sort key so a search sorts without reading clients. Existing rows get their
-- keys from the module on the next list or search (a row with sort_key NULL is
-- computed then: "read-miss"), so this migration only adds the places.
ALTER TABLE clients ADD COLUMN sort_key TEXT;
ALTER TABLE clients ADD COLUMN sort_locale TEXT;
CREATE INDEX clients_by_sort_key ON clients (sort_key, id);
CREATE INDEX clients_by_date_of_birth ON clients (date_of_birth);
CREATE INDEX clients_by_email ON clients (lower(email));
CREATE TABLE client_name_keys (
    client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    word      INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    sort_key  TEXT    NOT NULL,
    PRIMARY KEY (client_id, word)
);
-- covering: a prefix range yields its clients with their sort keys, in one index
CREATE INDEX client_name_keys_by_key ON client_name_keys (key, sort_key, client_id);
-- a name changed by a program that does not write keys: forget the sort key, so
-- the module recomputes both keys before the next list or search
CREATE TRIGGER clients_name_changed AFTER UPDATE OF first_name, last_name ON clients
WHEN NEW.sort_key IS OLD.sort_key
BEGIN
    UPDATE clients SET sort_key = NULL WHERE id = NEW.id;
END;
