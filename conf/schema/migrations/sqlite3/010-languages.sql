-- 010: the language of a representative's emails and recipient page (issue 17). NULL:
-- the practice's default_language setting. A client's language is
-- clients.preferred_language (migration 005), set by staff or the roster sync.
ALTER TABLE representatives ADD COLUMN preferred_language TEXT;
