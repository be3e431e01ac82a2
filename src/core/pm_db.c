/* pm_db.c — the executor: prepared statement by id → drain the rows into pm_row,
 * and transactions guarded by a pool cleanup, over any apr_dbd connection (SQLite's
 * through SQLite's own API, pm_db_sqlite.c). Errors go to the caller's report hook;
 * writes ask its write_enter hook for their turn. */
#include "pm_db.h"
#include "pm_db_sqlite.h"

#include <apr_strings.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct pm_db {
    apr_pool_t *pool;
    apr_pool_t *scratch;          /* rows, arguments, results: pool unless a caller
                                   * lends a shorter-lived one (pm_db_use_pool) */
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;         /* label -> apr_dbd_prepared_t */
    pm_db_sqlite *lite;           /* SQLite through its own API, or NULL */
    int in_txn;                   /* a transaction is open */
    int txn_failed;               /* a statement of it failed, so it rolls back */
    int committed;
    int gated;                    /* write_enter succeeded; write_leave is owed */
    int locking;                  /* taking SQLite's write lock at a transaction's start */
    pm_db_hooks hooks;
    void *ctx;
};

pm_db *pm_db_make(apr_pool_t *pool, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                  apr_hash_t *prepared, const pm_db_hooks *hooks, void *ctx)
{
    pm_db *db = apr_pcalloc(pool, sizeof(*db));

    db->pool = pool;
    db->scratch = pool;
    db->driver = driver;
    db->handle = handle;
    db->prepared = prepared ? prepared : apr_hash_make(pool);
    db->lite = pm_db_sqlite_of(driver, handle, apr_hash_pool_get(db->prepared));
    if (hooks) {
        db->hooks = *hooks;
    }
    db->ctx = ctx;
    return db;
}

apr_pool_t *pm_db_use_pool(pm_db *db, apr_pool_t *p)
{
    apr_pool_t *old = db->scratch;

    db->scratch = p ? p : db->pool;
    return old;
}

const char *pm_db_driver_name(const pm_db *db)
{
    return apr_dbd_name(db->driver);
}

int pm_db_is_pgsql(const pm_db *db)
{
    return strcmp(apr_dbd_name(db->driver), "pgsql") == 0;
}

void *pm_db_context(const pm_db *db)
{
    return db->ctx;
}

/* around every round trip to the database */
static apr_status_t call_enter(pm_db *db)
{
    return db->hooks.call_enter ? db->hooks.call_enter(db->ctx) : APR_SUCCESS;
}

static void call_leave(pm_db *db)
{
    if (db->hooks.call_leave) {
        db->hooks.call_leave(db->ctx);
    }
}

const char *pm_db_one_line(apr_pool_t *p, const char *msg)
{
    char *out, *c;
    apr_size_t n;

    if (msg == NULL) {
        return NULL;
    }
    msg += strspn(msg, "\r\n");
    out = apr_pstrndup(p, msg, strcspn(msg, "\r\n"));
    for (c = out; *c; c++) {
        if (*c == '\t') {
            *c = ' ';
        }
    }
    for (n = strlen(out); n > 0 && out[n - 1] == ' '; n--) {
        out[n - 1] = '\0';
    }
    if ((c = strstr(out, ": \"")) != NULL && out[n - 1] == '"' && out + n - 1 > c + 2) {
        return apr_pstrcat(p, apr_pstrndup(p, out, c - out), ": \"(a value, not logged)\"",
                           NULL);
    }
    return out;
}

void pm_db_report(pm_db *db, pm_db_event ev, const char *label, const char *msg)
{
    msg = pm_db_one_line(db->scratch, msg);     /* libpq's end with a newline */
    /* the write lock not taken at the start is the transaction not starting (a busy
     * file waited for in vain), not a statement of the caller's failing */
    if (db->locking && ev == PM_DB_EV_FAILED) {
        ev = PM_DB_EV_BEGIN;
        label = NULL;
    }
    if (db->hooks.report) {
        db->hooks.report(db->ctx, ev, label, msg);
    }
}

apr_status_t pm_db_prepare(const apr_dbd_driver_t *driver, apr_pool_t *pool, apr_dbd_t *handle,
                           apr_hash_t *prepared, pm_sql_id id, const char **error)
{
    const pm_sql_stmt *st = pm_sql_get(id);
    apr_dbd_prepared_t *stmt = NULL;
    int rc = apr_dbd_prepare(driver, pool, handle, st->sql, st->label, &stmt);

    if (rc != 0) {
        *error = pm_db_one_line(pool, apr_dbd_error(driver, handle, rc));
        return APR_EGENERAL;
    }
    apr_hash_set(prepared, st->label, APR_HASH_KEY_STRING, stmt);
    return APR_SUCCESS;
}

void pm_db_forget_prepared(pm_db *db)
{
    apr_hash_clear(db->prepared);
    pm_db_sqlite_forget(db->lite);
}

/* A statement this connection has not run yet: prepared now, in the pool of the
 * connection's table (it lives as long as the connection, not the request), as a
 * watched round trip like any other. */
static apr_dbd_prepared_t *prepare_now(pm_db *db, pm_sql_id id, const pm_sql_stmt *st)
{
    const char *error = "the database is not answering";
    apr_status_t rv = APR_EGENERAL;

    if (call_enter(db) == APR_SUCCESS) {
        rv = pm_db_prepare(db->driver, apr_hash_pool_get(db->prepared), db->handle,
                           db->prepared, id, &error);
    }
    call_leave(db);
    if (rv != APR_SUCCESS) {
        pm_db_report(db, PM_DB_EV_FAILED, st->label, error ? error : "(no message)");
        return NULL;
    }
    return apr_hash_get(db->prepared, st->label, APR_HASH_KEY_STRING);
}

static apr_dbd_prepared_t *find_statement(pm_db *db, pm_sql_id id, const pm_sql_stmt *st)
{
    apr_dbd_prepared_t *stmt = apr_hash_get(db->prepared, st->label, APR_HASH_KEY_STRING);

    if (stmt == NULL && db->hooks.prepare_missing) {
        stmt = prepare_now(db, id, st);
    }
    else if (stmt == NULL) {
        pm_db_report(db, PM_DB_EV_MISSING, st->label, NULL);
    }
    if (stmt == NULL) {
        db->txn_failed = db->in_txn;   /* a failed prepare ends PostgreSQL's transaction too */
    }
    return stmt;
}

static const char **collect_args(pm_db *db, const pm_sql_stmt *st, va_list ap)
{
    const char **args = apr_pcalloc(db->scratch, sizeof(char *) * (st->nargs + 1));
    int i;

    for (i = 0; i < st->nargs; i++) {
        args[i] = va_arg(ap, const char *);
    }
    return args;
}

/* apr_dbd: a failed statement; inside a transaction, the transaction rolls back */
static void report_failure(pm_db *db, const pm_sql_stmt *st, int rc)
{
    const char *msg = apr_dbd_error(db->driver, db->handle, rc);

    db->txn_failed = db->in_txn;
    pm_db_report(db, PM_DB_EV_FAILED, st->label, msg ? msg : "(no message)");
}

/* A statement after a failed one in the same transaction fails unsent, on either
 * path (as APR's drivers did inside their own transactions); the commit rolls back. */
static int refused_after_failure(pm_db *db, const pm_sql_stmt *st)
{
    if (db->txn_failed) {
        pm_db_report(db, PM_DB_EV_FAILED, st->label,
                     "an earlier statement of this transaction failed");
        return 1;
    }
    return 0;
}

apr_status_t pm_db_sink_pass(pm_db_sink *sink, int at_end)
{
    if (sink->each == NULL || sink->rows->nelts == 0
        || (!at_end && sink->rows->nelts < sink->batch)) {
        return APR_SUCCESS;
    }
    sink->stopped = sink->each(sink->ctx, sink->rows);
    sink->rows->nelts = 0;
    apr_pool_clear(sink->p);
    return sink->stopped;
}

static void push_dbd_row(pm_db *db, apr_dbd_results_t *res, apr_dbd_row_t *row,
                         pm_db_sink *sink)
{
    pm_row *out = apr_array_push(sink->rows);
    int i, ncols = apr_dbd_num_cols(db->driver, res);

    out->ncols = ncols;
    out->v = apr_pcalloc(sink->p, sizeof(char *) * (ncols > 0 ? ncols : 1));
    for (i = 0; i < ncols; i++) {
        /* datum_get says APR_ENOENT for SQL NULL (get_entry gives "" on pgsql) */
        char *val = NULL;
        apr_status_t rv = apr_dbd_datum_get(db->driver, row, i, APR_DBD_TYPE_STRING, &val);
        out->v[i] = (rv == APR_SUCCESS && val) ? apr_pstrdup(sink->p, val) : NULL;
    }
}

/* The driver's row is its cursor (pgsql counts in it): it lives in the result's pool p,
 * not in the batches' pool. */
static apr_status_t drain_rows(pm_db *db, apr_pool_t *p, apr_dbd_results_t *res,
                               pm_db_sink *sink)
{
    apr_dbd_row_t *row = NULL;
    int rc;

    while ((rc = apr_dbd_get_row(db->driver, p, res, &row, -1)) == 0) {
        push_dbd_row(db, res, row, sink);
        if (pm_db_sink_pass(sink, 0) != APR_SUCCESS) {
            return APR_SUCCESS;       /* the caller's stop; the result goes with its pool */
        }
    }
    pm_db_sink_pass(sink, 1);
    return rc == -1 ? APR_SUCCESS : APR_EGENERAL;
}

static int select_once(pm_db *db, const pm_sql_stmt *st, apr_dbd_prepared_t *stmt,
                       const char **args, apr_pool_t *p, pm_db_sink *sink)
{
    apr_dbd_results_t *res = NULL;
    /* random access (1): the whole result arrives at once. Sequential pgsql results
     * wait 100 ms in the driver before reporting that an empty set is empty. */
    int rc;

    if (call_enter(db) != APR_SUCCESS) {
        call_leave(db);
        return -1;
    }
    rc = apr_dbd_pselect(db->driver, p, db->handle, &res, stmt, 1, st->nargs, args);
    if (rc == 0 && drain_rows(db, p, res, sink) != APR_SUCCESS) {
        rc = -1;
    }
    call_leave(db);
    return rc;
}

/* SQLite: the statement through SQLite's API. Without prepare_missing the statement must have been prepared (by label).
 * A sink's stop is the caller's, no failure. */
static apr_status_t run_lite(pm_db *db, pm_sql_id id, const pm_sql_stmt *st, const char **args,
                             pm_db_sink *sink, int *changes)
{
    const char *msg = "the database is not answering";
    apr_status_t rv = APR_EGENERAL;

    if (!db->hooks.prepare_missing
        && apr_hash_get(db->prepared, st->label, APR_HASH_KEY_STRING) == NULL) {
        pm_db_report(db, PM_DB_EV_MISSING, st->label, NULL);
        return APR_EGENERAL;
    }
    if (call_enter(db) == APR_SUCCESS) {
        rv = pm_db_sqlite_run(db->lite, id, args, db->scratch, sink, changes, &msg);
    }
    call_leave(db);
    if (rv != APR_SUCCESS && !(sink && sink->stopped)) {
        db->txn_failed = db->in_txn;
        pm_db_report(db, PM_DB_EV_FAILED, st->label, msg ? msg : "(no message)");
    }
    return rv;
}

/* The statement's rows into sink: SQLite's API or apr_dbd. */
static apr_status_t select_into(pm_db *db, pm_sql_id id, const char **args, apr_pool_t *p,
                                pm_db_sink *sink)
{
    const pm_sql_stmt *st = pm_sql_get(id);
    apr_dbd_prepared_t *stmt;
    int rc;

    if (refused_after_failure(db, st)) {
        return APR_EGENERAL;
    }
    if (db->lite) {
        return run_lite(db, id, st, args, sink, NULL);
    }
    if ((stmt = find_statement(db, id, st)) == NULL) {
        return APR_EGENERAL;
    }
    rc = select_once(db, st, stmt, args, p, sink);
    if (sink->stopped) {
        return sink->stopped;
    }
    if (rc != 0) {
        report_failure(db, st, rc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t pm_db_select_args(pm_db *db, pm_sql_id id, apr_array_header_t **rows,
                               const char **args)
{
    pm_db_sink sink = { NULL, NULL, 0, NULL, NULL, APR_SUCCESS };

    sink.rows = *rows = apr_array_make(db->scratch, 4, sizeof(pm_row));
    sink.p = db->scratch;
    return select_into(db, id, args, db->scratch, &sink);
}

apr_status_t pm_db_select(pm_db *db, pm_sql_id id, apr_array_header_t **rows, ...)
{
    const char **args;
    va_list ap;

    va_start(ap, rows);
    args = collect_args(db, pm_sql_get(id), ap);
    va_end(ap);
    return pm_db_select_args(db, id, rows, args);
}

/* The statement's result (apr_dbd's) lives in a pool of its own, the batches in one
 * under it, cleared after each; both go at the end. */
apr_status_t pm_db_select_each_args(pm_db *db, pm_sql_id id, int batch, pm_db_rows_fn each,
                                    void *ctx, const char **args)
{
    pm_db_sink sink = { NULL, NULL, 0, NULL, NULL, APR_SUCCESS };
    apr_pool_t *p;
    apr_status_t rv;

    apr_pool_create(&p, db->scratch);
    apr_pool_create(&sink.p, p);
    sink.rows = apr_array_make(p, batch > 1 ? batch : 1, sizeof(pm_row));
    sink.batch = batch > 1 ? batch : 1;
    sink.each = each;
    sink.ctx = ctx;
    rv = select_into(db, id, args, p, &sink);
    apr_pool_destroy(p);
    return rv;
}

apr_status_t pm_db_select_each(pm_db *db, pm_sql_id id, int batch, pm_db_rows_fn each,
                               void *ctx, ...)
{
    const char **args;
    va_list ap;

    va_start(ap, ctx);
    args = collect_args(db, pm_sql_get(id), ap);
    va_end(ap);
    return pm_db_select_each_args(db, id, batch, each, ctx, args);
}

/* Take the caller's turn to write (a transaction holds it to its end). */
static apr_status_t gate_enter(pm_db *db)
{
    apr_status_t rv;

    if (db->hooks.write_enter == NULL || db->gated) {
        return APR_SUCCESS;
    }
    if ((rv = db->hooks.write_enter(db->ctx)) != APR_SUCCESS) {
        return rv;
    }
    db->gated = 1;
    return APR_SUCCESS;
}

static void gate_leave(pm_db *db)
{
    if (db->gated) {
        db->gated = 0;
        if (db->hooks.write_leave) {
            db->hooks.write_leave(db->ctx);
        }
    }
}

static apr_status_t exec_dbd(pm_db *db, const pm_sql_stmt *st, apr_dbd_prepared_t *stmt,
                             const char **args, int *n)
{
    int rc = call_enter(db) == APR_SUCCESS
             ? apr_dbd_pquery(db->driver, db->scratch, db->handle, n, stmt, st->nargs, args)
             : -1;

    call_leave(db);
    if (rc != 0) {
        report_failure(db, st, rc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t pm_db_exec_args(pm_db *db, pm_sql_id id, int *affected, const char **args)
{
    const pm_sql_stmt *st = pm_sql_get(id);
    apr_dbd_prepared_t *stmt = NULL;
    apr_status_t rv;
    int n = 0;

    if (refused_after_failure(db, st)) {
        return APR_EGENERAL;
    }
    if (db->lite == NULL && (stmt = find_statement(db, id, st)) == NULL) {
        return APR_EGENERAL;
    }
    if (gate_enter(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = db->lite ? run_lite(db, id, st, args, NULL, &n) : exec_dbd(db, st, stmt, args, &n);
    if (!db->in_txn) {
        gate_leave(db);
    }
    if (rv == APR_SUCCESS && affected) {
        *affected = n;
    }
    return rv;
}

apr_status_t pm_db_exec(pm_db *db, pm_sql_id id, int *affected, ...)
{
    const char **args;
    va_list ap;

    va_start(ap, affected);
    args = collect_args(db, pm_sql_get(id), ap);
    va_end(ap);
    return pm_db_exec_args(db, id, affected, args);
}

/* apr_dbd: BEGIN, COMMIT or ROLLBACK as a plain statement. Not apr_dbd's
 * transaction calls: the pgsql driver's start dereferences a NULL transaction when
 * its BEGIN gets an error answer, as it does on a connection the server has just
 * ended (a PostgreSQL restart): that crashed the httpd child (t/pg_restart.t). */
static int dbd_txn_statement(pm_db *db, const char *sql)
{
    int n = 0;

    return apr_dbd_query(db->driver, db->handle, &n, sql);
}

static apr_status_t rollback_unless_committed(void *data)
{
    pm_db *db = data;
    const char *msg = NULL;

    if (db->in_txn && !db->committed) {
        call_enter(db);            /* watched, never refused */
        if (db->lite) {
            pm_db_sqlite_rollback(db->lite, db->pool, &msg);
        }
        else {
            dbd_txn_statement(db, "ROLLBACK");
        }
        call_leave(db);
        pm_db_report(db, PM_DB_EV_ROLLED_BACK, NULL, NULL);
    }
    db->in_txn = 0;
    db->txn_failed = 0;
    gate_leave(db);
    return APR_SUCCESS;
}

/* BEGIN on the connection; *msg says why not */
static apr_status_t begin_on_connection(pm_db *db, const char **msg)
{
    int rc;

    if (db->lite) {
        return pm_db_sqlite_begin(db->lite, db->pool, db->hooks.begin_immediate, msg);
    }
    rc = dbd_txn_statement(db, "BEGIN");
    if (rc != 0) {
        *msg = apr_dbd_error(db->driver, db->handle, rc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t take_write_lock(pm_db *db)
{
    apr_status_t rv;

    db->locking = 1;
    rv = pm_db_exec(db, PM_SQL_TXN_WRITE_LOCK, NULL);
    db->locking = 0;
    return rv;
}

apr_status_t pm_db_begin(pm_db *db)
{
    const char *msg = "the database is not answering";
    apr_status_t rv = APR_EGENERAL;

    if (gate_enter(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (call_enter(db) == APR_SUCCESS) {
        rv = begin_on_connection(db, &msg);
    }
    call_leave(db);
    if (rv != APR_SUCCESS) {
        gate_leave(db);
        pm_db_report(db, PM_DB_EV_BEGIN, NULL, msg);
        return APR_EGENERAL;
    }
    db->in_txn = 1;
    db->txn_failed = 0;
    db->committed = 0;
    apr_pool_cleanup_register(db->pool, db, rollback_unless_committed, apr_pool_cleanup_null);
    /* SQLite's driver starts a deferred transaction; a write first takes the
     * write lock now, so two writers queue instead of deadlocking later. */
    return db->hooks.lock_at_begin ? take_write_lock(db) : APR_SUCCESS;
}

void pm_db_rollback(pm_db *db)
{
    if (db->in_txn) {
        rollback_unless_committed(db);
        apr_pool_cleanup_kill(db->pool, db, rollback_unless_committed);
    }
}

int pm_db_in_transaction(const pm_db *db)
{
    return db->in_txn;
}

/* SQLite: a transaction with a failed statement rolls back instead of committing,
 * and says so; so does one whose COMMIT failed (SQLite keeps it open when busy). */
static apr_status_t commit_lite(pm_db *db, const char **msg)
{
    const char *ignored = NULL;

    if (!db->txn_failed && pm_db_sqlite_commit(db->lite, db->pool, msg) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (db->txn_failed) {
        *msg = "rolled back: a statement of the transaction failed";
    }
    pm_db_sqlite_rollback(db->lite, db->pool, &ignored);
    return APR_EGENERAL;
}

/* COMMIT on the connection; *msg says why not. A transaction with a failed
 * statement rolls back instead, and says so (APR's driver rolled it back and
 * answered success). */
static apr_status_t commit_on_connection(pm_db *db, const char **msg)
{
    int rc;

    if (db->lite) {
        return commit_lite(db, msg);
    }
    if (db->txn_failed) {
        dbd_txn_statement(db, "ROLLBACK");
        *msg = "rolled back: a statement of the transaction failed";
        return APR_EGENERAL;
    }
    rc = dbd_txn_statement(db, "COMMIT");
    if (rc != 0) {
        *msg = apr_dbd_error(db->driver, db->handle, rc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t pm_db_commit(pm_db *db)
{
    const char *msg = NULL;
    apr_status_t rv;

    if (!db->in_txn) {
        return APR_EGENERAL;
    }
    if (call_enter(db) != APR_SUCCESS) {
        call_leave(db);
        pm_db_report(db, PM_DB_EV_COMMIT, NULL, "the database is not answering");
        return APR_EGENERAL;       /* the cleanup rolls back */
    }
    rv = commit_on_connection(db, &msg);
    call_leave(db);
    apr_pool_cleanup_kill(db->pool, db, rollback_unless_committed);
    db->in_txn = 0;
    db->txn_failed = 0;
    gate_leave(db);
    if (rv != APR_SUCCESS) {
        pm_db_report(db, PM_DB_EV_COMMIT, NULL, msg ? msg : "(no message)");
        return APR_EGENERAL;
    }
    db->committed = 1;
    return APR_SUCCESS;
}

long long pm_row_int(const pm_row *row, int col, long long dflt)
{
    if (row == NULL || col >= row->ncols || row->v[col] == NULL) {
        return dflt;
    }
    return strtoll(row->v[col], NULL, 10);
}

const char *pm_row_str(const pm_row *row, int col)
{
    return row != NULL && col < row->ncols ? row->v[col] : NULL;
}

const pm_row *pm_first_row(const apr_array_header_t *rows)
{
    return rows->nelts > 0 ? &APR_ARRAY_IDX(rows, 0, pm_row) : NULL;
}

const char *pm_arg_int(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}
