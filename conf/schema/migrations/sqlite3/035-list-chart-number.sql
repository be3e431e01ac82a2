-- 035: every row of the Client list shows the EHR's chart number (external_id); the
-- list's covering index carries it too, so a page still reads index pages only, not
-- one table row per client (SQLite reads those again after every audited commit).
DROP INDEX clients_active_list;
CREATE INDEX clients_active_list ON clients
    (sort_key, id, first_name, last_name, date_of_birth, declined_at, active, external_id)
    WHERE active = 1;
