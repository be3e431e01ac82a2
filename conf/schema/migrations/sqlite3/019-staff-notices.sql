-- 019: staff notices (issue 15). A staff member's email address (set with
-- portal-manager-admin staff update USER --email), how they want to hear about their
-- clients (PUT /me/preferences: none, immediate, or a daily digest at 07:00 practice
-- time), the audit row up to which their notices are done (NULL: from the next
-- event on) and the practice-time day of their last daily digest.
ALTER TABLE staff ADD COLUMN email TEXT;
ALTER TABLE staff ADD COLUMN notify TEXT NOT NULL DEFAULT 'daily'
    CHECK (notify IN ('none', 'immediate', 'daily'));
ALTER TABLE staff ADD COLUMN notices_after INTEGER;
ALTER TABLE staff ADD COLUMN digest_day TEXT;
