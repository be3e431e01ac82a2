/* pm_audit_chain.h — the audit trail's hash chain: every row written carries its
 * place in one chain and the SHA-256 of the previous row's hash and its own
 * canonical content, in the writer's transaction; and the walk that checks it
 * (portal-manager-admin audit verify). httpd-free (libpmcore). */
#ifndef PM_AUDIT_CHAIN_H
#define PM_AUDIT_CHAIN_H

#include "pm_db.h"

/* An audit row's values in PM_SQL_AUDIT_INSERT's order: at, username, action,
 * client_id, object_id, result, detail, remote_ip, request_id (NULL for none). */
#define PM_AUDIT_FIELDS 9

/* The hash (64 lowercase hex digits, in p) of the row at chain place seq whose
 * predecessor's hash is prev: SHA-256 over "pm-audit-v1", prev, seq and each
 * field, every value written as its length, ':' and its bytes ("-" for NULL), one
 * per line — so no two different rows share a canonical form. */
const char *pm_audit_chain_hash(apr_pool_t *p, const char *prev, long long seq,
                                const char *const *fields);

/* The hash that precedes the first row of a new chain. */
extern const char pm_audit_chain_origin[];

/* Append n rows (each PM_AUDIT_FIELDS values) to the trail as the next places of
 * the chain: in the caller's transaction when one is open, else in one of their
 * own (on PostgreSQL a single row is a statement of its own). Concurrent writers
 * take turns until they commit: on PostgreSQL on the chain head's row lock (other
 * servers too), on SQLite on the database's write lock, taken at BEGIN. */
apr_status_t pm_audit_chain_append(pm_db *db, apr_pool_t *p, const char *const *const *rows,
                                   int n);

/* What a walk of the chain found. */
typedef struct {
    long long rows;            /* chained rows checked */
    long long pre_chain;       /* rows from before the chain (no hash), as counted */
    long long anchor_seq;      /* where the walk started (after a prune) */
    const char *anchor_hash;   /* and the hash it started from */
    long long head_seq;        /* the head's place */
    const char *head_hash;     /* the last row's hash (the anchor's for an empty chain) */
    long long bad_id;          /* the first row that does not fit, or 0 */
    const char *problem;       /* why, or NULL */
} pm_audit_chain_report;

/* Check every row from the anchor on, in chain order (pages of rows), what the
 * head and the pre-chain counts say, and that a chain starting after place 0 has
 * the audit.prune row that moved its start. APR_SUCCESS when the walk ran (its
 * finding in *r), an error when the database failed. */
apr_status_t pm_audit_chain_verify(pm_db *db, apr_pool_t *p, pm_audit_chain_report *r);

/* A head kept outside the database (the error log's PM00625 line, a past verify):
 * after a clean verify (r), whether the chain still holds place seq with that
 * hash. HELD: it does, so every row up to it is as it was then. PRUNED: a
 * recorded prune removed it (not checkable here; the export file holds it).
 * BROKEN: the chain ends before it or has another hash there (*problem says which). */
typedef enum {
    PM_ANCHOR_HELD, PM_ANCHOR_PRUNED, PM_ANCHOR_BROKEN, PM_ANCHOR_ERROR
} pm_audit_anchor_result;
pm_audit_anchor_result pm_audit_chain_check_anchor(pm_db *db, apr_pool_t *p,
                                                   const pm_audit_chain_report *r,
                                                   long long seq, const char *hash,
                                                   const char **problem);

/* Whether audit_log's append-only triggers are all there (on PostgreSQL also
 * enabled): *problem names the first missing one, or NULL. */
apr_status_t pm_audit_chain_check_guards(pm_db *db, apr_pool_t *p, const char **problem);

#endif
