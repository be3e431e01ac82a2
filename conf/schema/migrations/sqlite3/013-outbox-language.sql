-- 013: the language a champion asked a test email in (POST /admin/settings/test-email
-- {language}, issue 17). NULL on invitation emails: those are in their recipient's
-- language (the client's or the representative's preferred_language).
ALTER TABLE outbox ADD COLUMN language TEXT;
