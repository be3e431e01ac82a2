-- 034: the client on whose card a whole login was turned off, with the reason staff
-- typed there. A login shared by two clients' representatives is disabled whole from
-- the last client it reaches; its other clients' cards still list it (their grants
-- ended), and showed that reason, typed about a client their clinician may not see.
-- The reason now shows on this client's card only. NULL (rows disabled before 034):
-- shown only on the card of a login that never reached another client.
ALTER TABLE portal_accounts ADD COLUMN disabled_client_id bigint REFERENCES clients (id);
