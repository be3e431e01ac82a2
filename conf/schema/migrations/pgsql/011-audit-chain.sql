-- 011: a tamper-evident audit trail (issue 15; src/core/pm_audit_chain.c). Every audit
-- row written from now on carries its place in one chain (chain_seq: 1, 2, 3, …) and
-- row_hash = SHA-256 of the previous row's hash and its own canonical content, written
-- in the same transaction as the row. audit_chain (one row) is the chain's head — the
-- last row's seq and hash, updated with each row, so concurrent writers take turns —
-- and what came before the chain: the rows written before this migration (counted
-- and capped by id here; they carry no hash) and, after a prune, the anchor (the seq
-- and hash of the last removed row) that verification starts from. prune_upto is -1
-- except inside `portal-manager-admin audit prune`'s transaction, which sets it to the
-- last chain place it removes: only then may rows up to that place (and rows from
-- before the chain) be deleted.
ALTER TABLE audit_log ADD COLUMN chain_seq bigint;
ALTER TABLE audit_log ADD COLUMN row_hash text;
CREATE UNIQUE INDEX audit_log_by_chain_seq ON audit_log (chain_seq);
CREATE TABLE audit_chain (
    id             integer PRIMARY KEY CHECK (id = 1),
    seq            bigint  NOT NULL,
    hash           text    NOT NULL,
    anchor_seq     bigint  NOT NULL,
    anchor_hash    text    NOT NULL,
    pre_chain_rows bigint  NOT NULL,
    pre_chain_max  bigint  NOT NULL,
    prune_upto     bigint  NOT NULL DEFAULT -1
);
INSERT INTO audit_chain (id, seq, hash, anchor_seq, anchor_hash, pre_chain_rows, pre_chain_max)
SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
       '0000000000000000000000000000000000000000000000000000000000000000',
       count(*), coalesce(max(id), 0)
FROM audit_log;
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_chain
            WHERE id = 1 AND prune_upto >= 0 AND coalesce(OLD.chain_seq, 0) <= prune_upto) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
