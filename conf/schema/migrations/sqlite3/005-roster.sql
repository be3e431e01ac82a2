-- 005: the roster follows the EHR (issue 13). external_id is the EHR's chart
-- number (MRN): unique when present, NULL for clients no sync has named yet (a
-- unique index lets any number of NULLs through). active = 0 is a discharged
-- client; preferred_language is the language of the client's emails.
ALTER TABLE clients ADD COLUMN external_id TEXT;
ALTER TABLE clients ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
ALTER TABLE clients ADD COLUMN preferred_language TEXT NOT NULL DEFAULT 'en';
CREATE UNIQUE INDEX clients_by_external_id ON clients (external_id) WHERE external_id IS NOT NULL;
-- The Client dropdown lists active clients only, in list order: a partial index
-- serves its pages (the list's inner query says "active = 1" literally), with the
-- columns the list shows, so a page reads a few index pages rather than one table
-- page per client.
CREATE INDEX clients_active_list ON clients
    (sort_key, id, first_name, last_name, date_of_birth, declined_at, active) WHERE active = 1;
