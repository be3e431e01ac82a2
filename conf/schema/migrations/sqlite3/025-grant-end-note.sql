-- 025: ending one client's access of a shared login. A login that reaches several
-- clients (a parent of two children in care) is no longer turned off from one
-- client's card: staff end that client's grant instead (end_reason 'staff', or
-- 'discharged' when a roster discharge ends it), and the reason staff typed is kept
-- on the grant, where only that client's record shows it (never in the audit trail).
ALTER TABLE account_grants ADD COLUMN end_note TEXT;
