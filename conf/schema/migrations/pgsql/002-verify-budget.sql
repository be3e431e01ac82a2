-- 002: a budget of date-of-birth attempts per client, across all its invitations
-- (the client's and each representative's); reserved before a date is compared.
ALTER TABLE clients ADD COLUMN verify_failures integer NOT NULL DEFAULT 0;
