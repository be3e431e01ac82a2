/* pm_db.h — the executor both the module and the admin tool run SQL through:
 * statements of the table (pm_sql.c) by id over an apr_dbd connection, every row
 * drained into pm_row (NULL is SQL NULL), transactions guarded by a pool cleanup.
 * No httpd here: the caller's hooks report errors and gate writes (pm_store.c). */
#ifndef PM_DB_H
#define PM_DB_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "pm_sql.h"

typedef struct pm_db pm_db;

/* One result row: values as strings, NULL for SQL NULL. */
typedef struct pm_row {
    int ncols;
    const char **v;
} pm_row;

/* What the executor tells its caller (who logs it with its own message id). */
typedef enum {
    PM_DB_EV_MISSING,      /* label: a statement not prepared on the connection */
    PM_DB_EV_FAILED,       /* label, msg: a statement failed */
    PM_DB_EV_BEGIN,        /* msg: a transaction could not start */
    PM_DB_EV_COMMIT,       /* msg: a commit failed */
    PM_DB_EV_ROLLED_BACK,  /* a transaction rolled back (debug) */
    PM_DB_EV_COLLATOR      /* msg: the locale whose ICU collator did not open
                            * (pm_client_keys.c) */
} pm_db_event;

/* The caller's side of a connection. Every member may be NULL/0. */
typedef struct {
    void (*report)(void *ctx, pm_db_event ev, const char *label, const char *msg);
    /* a write outside a transaction, or a begin, asks for the turn to write first
     * (the module's SQLite writer gate); !APR_SUCCESS: nothing is tried */
    apr_status_t (*write_enter)(void *ctx);
    void (*write_leave)(void *ctx);
    int lock_at_begin;     /* a transaction starts with PM_SQL_TXN_WRITE_LOCK */
    int prepare_missing;   /* a statement not on the connection is prepared on first use */
    /* a round trip to the database starts / has ended (the module's watch on
     * statements a frozen server leaves unanswered, pm_db_guard.c); a refusal
     * (!APR_SUCCESS, the database is known not to answer) fails the statement,
     * begin or commit without sending it; a rollback is always sent */
    apr_status_t (*call_enter)(void *ctx);
    void (*call_leave)(void *ctx);
    /* SQLite: a transaction starts with BEGIN IMMEDIATE, its write lock waited for
     * by the connection's busy_timeout (the admin tool, which has no writer gate:
     * a deferred transaction that read first could not write once httpd had
     * committed in between, and failed at once with "database is locked") */
    int begin_immediate;
} pm_db_hooks;

/* An executor over an open apr_dbd connection: rows, arguments and transaction
 * cleanups live in pool; prepared statements are looked up by label in prepared
 * (mod_dbd's table of the connection, or one of the caller's own). */
pm_db *pm_db_make(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                  apr_hash_t *prepared, const pm_db_hooks *hooks, void *ctx);
/* Rows, arguments and results of the following statements live in p (NULL:
 * the executor's pool again), so a long loop can clear p as it goes; returns the
 * pool used so far. Prepared statements and transactions stay in the executor's
 * pool. */
apr_pool_t *pm_db_use_pool(pm_db *db, apr_pool_t *p);

/* The apr_dbd driver's name: "sqlite3", "pgsql", ... */
const char *pm_db_driver_name(const pm_db *db);
/* Is it PostgreSQL? (the statements of one driver: the *_PGSQL ids, pm_sql.h) */
int pm_db_is_pgsql(const pm_db *db);

/* The ctx the executor was made with. */
void *pm_db_context(const pm_db *db);

/* Prepare statement id on a connection under its label into prepared; *error
 * says why not. */
apr_status_t pm_db_prepare(const apr_dbd_driver_t *driver, apr_pool_t *pool, apr_dbd_t *handle,
                           apr_hash_t *prepared, pm_sql_id id, const char **error);
/* Forget every prepared statement: the next use prepares it again (SQLite's
 * legacy prepare expires them for good after a schema change). */
void pm_db_forget_prepared(pm_db *db);

/* Run statement `id` with its string arguments (exactly nargs of them, NULL for
 * SQL NULL). Rows land in *rows (array of pm_row) allocated from the pool; the
 * result set is always drained. APR_SUCCESS or an error (reported). */
apr_status_t pm_db_select(pm_db *db, pm_sql_id id, apr_array_header_t **rows, ...);
/* The same with the arguments in an array (exactly nargs of them). */
apr_status_t pm_db_select_args(pm_db *db, pm_sql_id id, apr_array_header_t **rows,
                               const char **args);

/* A batch of rows (pm_row) of pm_db_select_each, in the statement's order; they and
 * their values last until the callback returns. APR_SUCCESS reads on; anything else
 * stops the statement there (the rest is not read). */
typedef apr_status_t (*pm_db_rows_fn)(void *ctx, const apr_array_header_t *rows);

/* Run statement `id` and hand its rows to each, up to batch (>= 1) at a time, as
 * they are read, never with none (an empty result: never called); the rows of a batch
 * are freed once it returns, so memory stays that of one batch however many rows
 * there are. SQLite steps the statement row by row (pm_db_sqlite.c); through apr_dbd
 * (PostgreSQL) the driver holds the whole result (its sequential mode still reads
 * it whole, and waits 100 ms to say an empty set is empty), and only the batches are
 * freed. each must not run this same statement on this connection. Returns
 * APR_SUCCESS when every row was handed over, each's refusal as it said it
 * (unreported, and the statement is reset: the connection may go on), or an error of
 * the database (reported; batches before it were handed over). */
apr_status_t pm_db_select_each(pm_db *db, pm_sql_id id, int batch, pm_db_rows_fn each,
                               void *ctx, ...);
/* The same with the arguments in an array (exactly nargs of them). */
apr_status_t pm_db_select_each_args(pm_db *db, pm_sql_id id, int batch, pm_db_rows_fn each,
                                    void *ctx, const char **args);

/* Run a statement that returns no rows; *affected gets the row count. */
apr_status_t pm_db_exec(pm_db *db, pm_sql_id id, int *affected, ...);
/* The same with the arguments in an array (exactly nargs of them). */
apr_status_t pm_db_exec_args(pm_db *db, pm_sql_id id, int *affected, const char **args);

/* Transactions: begin registers a cleanup that rolls back unless commit ran. */
apr_status_t pm_db_begin(pm_db *db);
apr_status_t pm_db_commit(pm_db *db);
/* Roll back now (no-op without an open transaction). */
void pm_db_rollback(pm_db *db);
int pm_db_in_transaction(const pm_db *db);

/* A driver's error text as it may be logged: its first line only, tabs as spaces,
 * no trailing space. libpq's message goes on with DETAIL lines that quote the row
 * ("Key (lower(username))=(ann@example.org) already exists", "Failing row contains
 * (...)"), and a primary message that ends with a value in quotes ("invalid input
 * syntax for type bigint: \"...\"") has it replaced: no address or name in a log. */
const char *pm_db_one_line(apr_pool_t *p, const char *msg);

/* Tell the caller through its report hook (for code built on the executor). */
void pm_db_report(pm_db *db, pm_db_event ev, const char *label, const char *msg);

/* Helpers for row values; col is a column name from pm_columns.h. A NULL row
 * reads as one without values (dflt, NULL). */
long long pm_row_int(const pm_row *row, int col, long long dflt);
const char *pm_row_str(const pm_row *row, int col);
/* The first row of a result, or NULL when it has none. */
const pm_row *pm_first_row(const apr_array_header_t *rows);
const char *pm_arg_int(apr_pool_t *p, long long v);

#endif
