-- 032: each invitation email's link is derived from the server's secret, the
-- invitation and outbox ids and this random value, written when the email is
-- queued. Without it a database restored from a backup handed out again the ids
-- of the emails sent after the backup, and with them those emails' links: a link
-- already in one client's mailbox opened the next client's invitation. A row
-- queued before this migration (NULL) keeps the link it was made with.
ALTER TABLE outbox ADD COLUMN token_nonce text;
