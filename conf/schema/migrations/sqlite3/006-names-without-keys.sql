-- 006: a client row needs only what a person would type. clients.first_name_key and
-- last_name_key (a hand-made case fold, NOT NULL) date from the first search; the
-- search and the list use the ICU keys of migrations 003/004, which the module
-- computes for a row another program wrote, and the roster compares names in C.
-- Dropping them lets a program INSERT a client with only names, date of birth and
-- email, and saves two index writes per client.
DROP INDEX clients_by_last_name;
DROP INDEX clients_by_first_name;
ALTER TABLE clients DROP COLUMN first_name_key;
ALTER TABLE clients DROP COLUMN last_name_key;
