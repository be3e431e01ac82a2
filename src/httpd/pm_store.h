/* pm_store.h — the module's side of the database: a pooled mod_dbd connection
 * wrapped in the executor (pm_db.h: statements by id, rows, transactions), with
 * the SQLite writer gate and log lines. Callers never see apr_dbd. */
#ifndef PM_STORE_H
#define PM_STORE_H

#include "pm_common.h"
#include "pm_db.h"

/* pre_config: SQLite's per-connection page memory, set before SQLite is first used */
int pm_store_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* post_config: mod_dbd is loaded (else one EMERG line) and the statement table
 * is ready. Statements are prepared on each connection when first run. */
int pm_store_init(server_rec *s);

/* The request's connection (mod_dbd pool), or NULL when the database cannot be
 * reached (already logged). */
pm_db *pm_db_acquire(request_rec *r);

/* A connection for work outside a request (the delivery worker); give it back
 * with pm_db_close before any slow network I/O. */
pm_db *pm_db_open(server_rec *s, apr_pool_t *p);
void pm_db_close(pm_db *db);
/* For the delivery worker's claim: a statement that finds SQLite locked by another
 * program's write is tried again on the next pass, so it is logged at debug level,
 * not as an error (every 500 ms while, say, a roster sync holds the database). */
void pm_db_busy_is_routine(pm_db *db);

#endif
