/* pm_store.h — database access through mod_dbd: acquire a pooled connection,
 * run a prepared statement by id, drain every row, transactions that roll back
 * on their own if the handler bails out. Callers never see apr_dbd. */
#ifndef PM_STORE_H
#define PM_STORE_H

#include "pm_common.h"
#include "pm_sql.h"

typedef struct pm_db pm_db;

/* One result row: values as strings, NULL for SQL NULL. */
typedef struct pm_row {
    int ncols;
    const char **v;
} pm_row;

/* Register every statement with mod_dbd for every server (post_config). */
int pm_store_prepare_all(apr_pool_t *pconf, server_rec *s);

/* The request's connection (mod_dbd pool), or NULL when the database cannot be
 * reached (already logged). */
pm_db *pm_db_acquire(request_rec *r);

/* A connection for work outside a request (the delivery worker); give it back
 * with pm_db_close before any slow network I/O. */
pm_db *pm_db_open(server_rec *s, apr_pool_t *p);
void pm_db_close(pm_db *db);

/* Run statement `id` with its string arguments (exactly nargs of them, NULL for
 * SQL NULL). Rows land in *rows (array of pm_row) allocated from the request
 * pool; the result set is always drained. APR_SUCCESS or an error (logged). */
apr_status_t pm_db_select(pm_db *db, pm_sql_id id, apr_array_header_t **rows, ...);

/* Run a statement that returns no rows; *affected gets the row count. */
apr_status_t pm_db_exec(pm_db *db, pm_sql_id id, int *affected, ...);

/* Transactions: begin registers a cleanup that rolls back unless commit ran. */
apr_status_t pm_db_begin(pm_db *db);
apr_status_t pm_db_commit(pm_db *db);
/* Roll back now (no-op without an open transaction). */
void pm_db_rollback(pm_db *db);

/* Helpers for row values; col is a column name from pm_columns.h. A NULL row
 * reads as one without values (dflt, NULL). */
long long pm_row_int(const pm_row *row, int col, long long dflt);
const char *pm_row_str(const pm_row *row, int col);
/* The first row of a result, or NULL when it has none. */
const pm_row *pm_first_row(const apr_array_header_t *rows);
const char *pm_arg_int(apr_pool_t *p, long long v);

#endif
