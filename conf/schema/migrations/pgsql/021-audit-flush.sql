-- 021: the audit chain's flush slots (src/core/pm_audit_chain.c). An audit row that
-- is a transaction of its own commits without waiting for the disk, so the chain's
-- head is not held through an fsync; the writer then commits a one-row update here,
-- synchronously, which puts everything written before it on disk before any request
-- is answered. One row per slot (a connection's backend pid mod 256), made on first
-- use; the count is only there to make the update a write.
CREATE TABLE audit_flush (
    slot    integer PRIMARY KEY CHECK (slot >= 0 AND slot < 256),
    flushes bigint  NOT NULL
);
