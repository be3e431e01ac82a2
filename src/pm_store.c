/* pm_store.c — the acquire → prepared statement → drain-the-rows sequence on top
 * of mod_dbd, plus transactions guarded by a pool cleanup. */
#include "pm_store.h"
#include "pm_writer.h"

#include "apr_dbd.h"
#include "apr_optional.h"
#include "mod_dbd.h"
#include <stdarg.h>
#include <stdlib.h>

APLOG_USE_MODULE(portal_manager);

struct pm_db {
    request_rec *r;               /* NULL outside a request (delivery worker) */
    server_rec *s;
    apr_pool_t *pool;
    ap_dbd_t *dbd;
    apr_dbd_transaction_t *txn;
    int committed;
    int sqlite;                   /* writes queue on the writer gate (pm_writer.c) */
    int gated;                    /* this connection holds the gate */
};

/* Log against the request when there is one, else against the server. */
#define DB_LOG(db, level, ...)                                                   \
    do {                                                                         \
        if ((db)->r) ap_log_rerror(APLOG_MARK, level, 0, (db)->r, __VA_ARGS__);  \
        else ap_log_error(APLOG_MARK, level, 0, (db)->s, __VA_ARGS__);           \
    } while (0)

static apr_status_t prepare_on_connection(ap_dbd_t *dbd, server_rec *s, int last_try);

int pm_store_prepare_all(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    server_rec *sp;
    int i;

    if (prepare == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00010)
                     "mod_portal_manager needs mod_dbd: add 'LoadModule dbd_module "
                     "modules/mod_dbd.so' before it");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    pm_sql_init();
    for (sp = s; sp; sp = sp->next) {
        for (i = 0; i < PM_SQL_COUNT; i++) {
            const pm_sql_stmt *st = pm_sql_get((pm_sql_id)i);
            prepare(sp, st->sql, st->label);
        }
    }
    return OK;
}

#define ACQUIRE_TRIES     3
#define ACQUIRE_PAUSE_US  100000

pm_db *pm_db_acquire(request_rec *r)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    ap_dbd_t *dbd = NULL;
    pm_db *db;
    int i;

    /* a new SQLite connection prepares every statement, and SQLite answers a
     * prepare on a busy file at once (no busy_timeout, see README): try again
     * briefly */
    for (i = 0; acquire && dbd == NULL && i < ACQUIRE_TRIES; i++) {
        if (i > 0) {
            apr_sleep(ACQUIRE_PAUSE_US);
        }
        if ((dbd = acquire(r)) != NULL
            && prepare_on_connection(dbd, r->server, i == ACQUIRE_TRIES - 1) != APR_SUCCESS) {
            dbd = NULL;
        }
    }
    if (dbd == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PM_LOGNO(00011)
                      "no database connection (check DBDriver/DBDParams and that the "
                      "database is reachable and its schema initialised)");
        return NULL;
    }
    db = apr_pcalloc(r->pool, sizeof(*db));
    db->r = r;
    db->s = r->server;
    db->pool = r->pool;
    db->dbd = dbd;
    db->sqlite = strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0;
    return db;
}

static apr_status_t rollback_unless_committed(void *data);

pm_db *pm_db_open(server_rec *s, apr_pool_t *p)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_open) *open_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    ap_dbd_t *dbd = NULL;
    pm_db *db;
    int i;

    /* as pm_db_acquire: a new SQLite connection's prepares can meet a busy file */
    for (i = 0; open_fn && dbd == NULL && i < ACQUIRE_TRIES; i++) {
        if (i > 0) {
            apr_sleep(ACQUIRE_PAUSE_US);
        }
        if ((dbd = open_fn(p, s)) != NULL
            && prepare_on_connection(dbd, s, i == ACQUIRE_TRIES - 1) != APR_SUCCESS) {
            close_fn(s, dbd);
            dbd = NULL;
        }
    }
    if (dbd == NULL) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00017)
                     "delivery worker: no database connection");
        return NULL;
    }
    db = apr_pcalloc(p, sizeof(*db));
    db->s = s;
    db->pool = p;
    db->dbd = dbd;
    db->sqlite = strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0;
    return db;
}

void pm_db_close(pm_db *db)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);

    if (db && db->dbd && close_fn) {
        if (db->txn) {
            rollback_unless_committed(db);
        }
        close_fn(db->s, db->dbd);
        db->dbd = NULL;
    }
}

static apr_dbd_prepared_t *find_statement(pm_db *db, const pm_sql_stmt *st)
{
    apr_dbd_prepared_t *stmt = apr_hash_get(db->dbd->prepared, st->label, APR_HASH_KEY_STRING);

    if (stmt == NULL) {
        DB_LOG(db, APLOG_ERR, PM_LOGNO(00012)
                      "prepared statement %s is missing from the connection", st->label);
    }
    return stmt;
}

/* APR's SQLite driver prepares with the legacy sqlite3_prepare(), and mod_dbd
 * runs DBDInitSQL after preparing: a flag pragma there (PRAGMA foreign_keys = ON)
 * expires every statement for good, and inside a transaction the driver keeps
 * reporting the first error. So on SQLite each connection gets our statements
 * prepared again the first time we use it; a pool userdata key marks it done. */
/* PostgreSQL: the module's statements are short lookups, and JIT compilation
 * (on by default since PostgreSQL 12, triggered by cost estimates, which the
 * search's recursive CTE inflates) cost 100 ms to 2 s per search against a few
 * ms of work. Off for the module's own connections; a server without JIT (or
 * older than 11) refuses the SET, which changes nothing. */
static apr_status_t session_for_pgsql(ap_dbd_t *dbd)
{
    int n = 0;

    apr_dbd_query(dbd->driver, dbd->handle, &n, "SET jit = off");
    apr_pool_userdata_setn((void *)1, "pm_connection_ready", NULL, dbd->pool);
    return APR_SUCCESS;
}

/* SQLite: prepare every statement on this connection (once). A failure that will
 * be tried again (a busy file) is logged at debug level; the last one as an error. */
static apr_status_t prepare_on_connection(ap_dbd_t *dbd, server_rec *s, int last_try)
{
    void *done = NULL;
    int i;

    apr_pool_userdata_get(&done, "pm_connection_ready", dbd->pool);
    if (done) {
        return APR_SUCCESS;
    }
    if (strcmp(apr_dbd_name(dbd->driver), "pgsql") == 0) {
        return session_for_pgsql(dbd);
    }
    if (strcmp(apr_dbd_name(dbd->driver), "sqlite3") != 0) {
        return APR_SUCCESS;
    }
    for (i = 0; i < PM_SQL_COUNT; i++) {
        const pm_sql_stmt *st = pm_sql_get((pm_sql_id)i);
        apr_dbd_prepared_t *stmt = NULL;
        if (apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, st->sql, st->label, &stmt) != 0) {
            ap_log_error(APLOG_MARK, last_try ? APLOG_ERR : APLOG_DEBUG, 0, s, PM_LOGNO(00018)
                         "cannot prepare %s: %s", st->label,
                         apr_dbd_error(dbd->driver, dbd->handle, -1));
            return APR_EGENERAL;
        }
        apr_hash_set(dbd->prepared, st->label, APR_HASH_KEY_STRING, stmt);
    }
    apr_pool_userdata_setn((void *)1, "pm_connection_ready", NULL, dbd->pool);
    return APR_SUCCESS;
}

static const char **collect_args(pm_db *db, const pm_sql_stmt *st, va_list ap)
{
    const char **args = apr_pcalloc(db->pool, sizeof(char *) * (st->nargs + 1));
    int i;

    for (i = 0; i < st->nargs; i++) {
        args[i] = va_arg(ap, const char *);
    }
    return args;
}

static void log_db_error(pm_db *db, const pm_sql_stmt *st, int rc)
{
    const char *msg = apr_dbd_error(db->dbd->driver, db->dbd->handle, rc);

    DB_LOG(db, APLOG_ERR, PM_LOGNO(00013)
                  "statement %s failed: %s", st->label, msg ? msg : "(no message)");
}

static apr_status_t drain_rows(pm_db *db, apr_dbd_results_t *res, apr_array_header_t *rows)
{
    const apr_dbd_driver_t *drv = db->dbd->driver;
    apr_dbd_row_t *row = NULL;
    int rc, i, ncols;

    while ((rc = apr_dbd_get_row(drv, db->pool, res, &row, -1)) == 0) {
        pm_row *out = apr_array_push(rows);
        ncols = apr_dbd_num_cols(drv, res);
        out->ncols = ncols;
        out->v = apr_pcalloc(db->pool, sizeof(char *) * (ncols > 0 ? ncols : 1));
        for (i = 0; i < ncols; i++) {
            /* datum_get says APR_ENOENT for SQL NULL (get_entry gives "" on pgsql) */
            char *val = NULL;
            apr_status_t rv = apr_dbd_datum_get(drv, row, i, APR_DBD_TYPE_STRING, &val);
            out->v[i] = (rv == APR_SUCCESS && val) ? apr_pstrdup(db->pool, val) : NULL;
        }
    }
    return rc == -1 ? APR_SUCCESS : APR_EGENERAL;
}

static int select_once(pm_db *db, const pm_sql_stmt *st, apr_dbd_prepared_t *stmt,
                       const char **args, apr_array_header_t *rows)
{
    apr_dbd_results_t *res = NULL;
    /* random access (1): the whole result arrives at once. Sequential pgsql results
     * wait 100 ms in the driver before reporting that an empty set is empty. */
    int rc = apr_dbd_pselect(db->dbd->driver, db->pool, db->dbd->handle, &res, stmt, 1,
                             st->nargs, args);

    rows->nelts = 0;
    if (rc == 0 && drain_rows(db, res, rows) != APR_SUCCESS) {
        rc = -1;
    }
    return rc;
}

apr_status_t pm_db_select(pm_db *db, pm_sql_id id, apr_array_header_t **rows, ...)
{
    const pm_sql_stmt *st = pm_sql_get(id);
    apr_dbd_prepared_t *stmt = find_statement(db, st);
    const char **args;
    va_list ap;
    int rc;

    *rows = apr_array_make(db->pool, 4, sizeof(pm_row));
    if (stmt == NULL) {
        return APR_EGENERAL;
    }
    va_start(ap, rows);
    args = collect_args(db, st, ap);
    va_end(ap);
    rc = select_once(db, st, stmt, args, *rows);
    if (rc != 0) {
        log_db_error(db, st, rc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* SQLite: take the writer gate for a write (a transaction holds it to its end). */
static apr_status_t gate_enter(pm_db *db)
{
    apr_status_t rv;

    if (!db->sqlite || db->gated) {
        return APR_SUCCESS;
    }
    if ((rv = pm_writer_enter()) != APR_SUCCESS) {
        DB_LOG(db, APLOG_ERR, PM_LOGNO(00182)
               "another writer held the database for %d s; this write was not tried",
               (int)apr_time_sec(PM_WRITER_WAIT));
        return rv;
    }
    db->gated = 1;
    return APR_SUCCESS;
}

static void gate_leave(pm_db *db)
{
    if (db->gated) {
        db->gated = 0;
        pm_writer_leave();
    }
}

apr_status_t pm_db_exec(pm_db *db, pm_sql_id id, int *affected, ...)
{
    const pm_sql_stmt *st = pm_sql_get(id);
    apr_dbd_prepared_t *stmt = find_statement(db, st);
    const char **args;
    va_list ap;
    int rc, n = 0;

    if (stmt == NULL) {
        return APR_EGENERAL;
    }
    va_start(ap, affected);
    args = collect_args(db, st, ap);
    va_end(ap);
    if (gate_enter(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rc = apr_dbd_pquery(db->dbd->driver, db->pool, db->dbd->handle, &n, stmt,
                        st->nargs, args);
    if (db->txn == NULL) {
        gate_leave(db);
    }
    if (rc != 0) {
        log_db_error(db, st, rc);
        return APR_EGENERAL;
    }
    if (affected) {
        *affected = n;
    }
    return APR_SUCCESS;
}

static apr_status_t rollback_unless_committed(void *data)
{
    pm_db *db = data;

    if (db->txn && !db->committed) {
        apr_dbd_transaction_mode_set(db->dbd->driver, db->txn, APR_DBD_TRANSACTION_ROLLBACK);
        apr_dbd_transaction_end(db->dbd->driver, db->pool, db->txn);
        DB_LOG(db, APLOG_DEBUG, PM_LOGNO(00014)
                      "transaction rolled back");
    }
    db->txn = NULL;
    gate_leave(db);
    return APR_SUCCESS;
}

apr_status_t pm_db_begin(pm_db *db)
{
    int rc;

    if (gate_enter(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rc = apr_dbd_transaction_start(db->dbd->driver, db->pool, db->dbd->handle, &db->txn);
    if (rc != 0) {
        gate_leave(db);
        DB_LOG(db, APLOG_ERR, PM_LOGNO(00015)
                      "cannot start a transaction: %s",
                      apr_dbd_error(db->dbd->driver, db->dbd->handle, rc));
        db->txn = NULL;
        return APR_EGENERAL;
    }
    db->committed = 0;
    apr_pool_cleanup_register(db->pool, db, rollback_unless_committed, apr_pool_cleanup_null);
    /* SQLite's driver starts a deferred transaction; a write first takes the
     * write lock now, so two writers queue instead of deadlocking later. */
    return pm_db_exec(db, PM_SQL_TXN_WRITE_LOCK, NULL);
}

void pm_db_rollback(pm_db *db)
{
    if (db->txn) {
        rollback_unless_committed(db);
        apr_pool_cleanup_kill(db->pool, db, rollback_unless_committed);
    }
}

apr_status_t pm_db_commit(pm_db *db)
{
    int rc;

    if (db->txn == NULL) {
        return APR_EGENERAL;
    }
    apr_dbd_transaction_mode_set(db->dbd->driver, db->txn, APR_DBD_TRANSACTION_COMMIT);
    rc = apr_dbd_transaction_end(db->dbd->driver, db->pool, db->txn);
    apr_pool_cleanup_kill(db->pool, db, rollback_unless_committed);
    db->txn = NULL;
    gate_leave(db);
    if (rc != 0) {
        DB_LOG(db, APLOG_ERR, PM_LOGNO(00016)
                      "commit failed: %s", apr_dbd_error(db->dbd->driver, db->dbd->handle, rc));
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
