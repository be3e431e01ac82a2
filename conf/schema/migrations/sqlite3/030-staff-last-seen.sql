-- 030: when the module last served a request of each staff member (issue 11), that is
-- when Apache last authenticated them: the module writes it at most once a day per
-- person (pm_api_staff.c). Staff notices go only to staff seen within the setting
-- staff_notice_max_idle_days, so a person removed from the login source (who can no
-- longer be authenticated) stops getting them. Everyone on staff at the upgrade counts
-- as seen then, so nobody loses a notice on upgrade day; a staff member added later and
-- never seen counts from staff.created_at. NULL: never seen since this migration.
ALTER TABLE staff ADD COLUMN last_seen_at INTEGER;
UPDATE staff SET last_seen_at = CAST(strftime('%s', 'now') AS INTEGER);
