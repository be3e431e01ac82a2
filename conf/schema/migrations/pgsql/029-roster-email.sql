-- 029: the email the roster sync last gave each client. Staff may change a client's
-- email on the staff page; the EHR, where nobody typed it, keeps sending the old one
-- (or none) every night. A sync now changes the stored email only when the EHR's
-- own value changed since the sync before (or when it names the client for the first
-- time with an address): a front-desk change survives the nightly sync until the EHR
-- itself says something new. '' = the roster gave no email; NULL = no sync has named
-- the client since this migration.
ALTER TABLE clients ADD COLUMN roster_email TEXT;
