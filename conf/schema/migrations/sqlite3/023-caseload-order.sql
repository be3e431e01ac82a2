-- 023: a caseload in list order. staff_clients carries a copy of its client's sort key,
-- kept by the triggers below, and an index (username, sort_key, client_id), so a
-- clinician's Client list reads its page of 50 in order instead of looking up every
-- client of the caseload and sorting them (500 clients of 100,000: a page took 80 ms
-- under load). A row written by any program gets the key on insert; a client whose
-- key changes (computed, a rename forgetting it, a new collation_locale) passes the
-- new one to its rows. NULL while the client has no key, as clients.sort_key.
ALTER TABLE staff_clients ADD COLUMN sort_key TEXT;
UPDATE staff_clients SET sort_key = (SELECT c.sort_key FROM clients c
                                     WHERE c.id = staff_clients.client_id);
CREATE INDEX staff_clients_in_order ON staff_clients (username, sort_key, client_id);
CREATE TRIGGER staff_clients_sort_key AFTER INSERT ON staff_clients
BEGIN
    UPDATE staff_clients SET sort_key = (SELECT c.sort_key FROM clients c
                                         WHERE c.id = NEW.client_id)
    WHERE username = NEW.username AND client_id = NEW.client_id;
END;
CREATE TRIGGER clients_sort_key_to_caseloads AFTER UPDATE OF sort_key ON clients
WHEN NEW.sort_key IS NOT OLD.sort_key
BEGIN
    UPDATE staff_clients SET sort_key = NEW.sort_key WHERE client_id = NEW.id;
END;
