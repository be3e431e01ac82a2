/* pm_db_sqlite.h — the executor's SQLite side: the statement table's SQL run through
 * SQLite's own API on the connection apr_dbd opened (pm_db.c decides when).
 * Only pm_db.c includes this. */
#ifndef PM_DB_SQLITE_H
#define PM_DB_SQLITE_H

#include <apr_dbd.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "pm_db.h"
#include "pm_sql.h"

typedef struct pm_db_sqlite pm_db_sqlite;

/* The statements of connection `handle` when its driver is sqlite3 and this build
 * has SQLite's headers, else NULL. They are kept in conn_pool (the pool the
 * connection lives in) and finalized when that pool is cleared, or by
 * pm_db_sqlite_forget — before the connection is closed. */
pm_db_sqlite *pm_db_sqlite_of(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                              apr_pool_t *conn_pool);

/* Where a statement's rows go: pushed onto rows, values in p; with each, handed to
 * it whenever batch rows are there and at the end (pm_db_sink_pass), rows emptied
 * and p cleared after each call. stopped: each's refusal, which ended the read. */
typedef struct {
    apr_array_header_t *rows;
    apr_pool_t *p;
    int batch;
    pm_db_rows_fn each;
    void *ctx;
    apr_status_t stopped;
} pm_db_sink;

/* A full batch (or, at the end, any rows) to the sink's each (pm_db.c); returns
 * each's answer (APR_SUCCESS without each or with too few rows yet). */
apr_status_t pm_db_sink_pass(pm_db_sink *sink, int at_end);

/* Run statement id with its text arguments (NULL: SQL NULL). Rows, when sink is
 * not NULL, go to it row by row as SQLite steps; *changes gets the rows
 * an INSERT, UPDATE or DELETE changed. A busy file is waited for (within a
 * bound). The statement is reset at its end, at an error and at the sink's stop.
 * APR_SUCCESS, the sink's stop (sink->stopped), or APR_EGENERAL with *msg saying
 * why. */
apr_status_t pm_db_sqlite_run(pm_db_sqlite *lite, pm_sql_id id, const char **args,
                              apr_pool_t *p, pm_db_sink *sink, int *changes,
                              const char **msg);

/* BEGIN, COMMIT or ROLLBACK on the connection, as pm_db_sqlite_run. */
apr_status_t pm_db_sqlite_begin(pm_db_sqlite *lite, apr_pool_t *p, int immediate,
                                 const char **msg);
apr_status_t pm_db_sqlite_commit(pm_db_sqlite *lite, apr_pool_t *p, const char **msg);
apr_status_t pm_db_sqlite_rollback(pm_db_sqlite *lite, apr_pool_t *p, const char **msg);

/* Finalize every statement prepared so far (the next run prepares again). */
void pm_db_sqlite_forget(pm_db_sqlite *lite);

#endif
