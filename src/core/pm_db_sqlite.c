/* pm_db_sqlite.c — SQLite statements run through SQLite's own API on the connection
 * apr_dbd opened. APR's sqlite3 driver holds one process-wide mutex around every
 * statement (a commit's fdatasync included, so one thread's commit stalled every
 * other thread's reads) and sleeps 100 ms whenever the file is busy. Here each
 * connection keeps its statements, prepared on first use, until it closes. */
#include "pm_db_sqlite.h"

#include "pm_db.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <string.h>

#ifdef PM_HAVE_SQLITE3
#include <sqlite3.h>

/* a busy file (another process writes, or checkpoints) is tried again, pausing
 * 1, 2, 4 ... up to 16 ms, for at most this long: what APR's driver allowed
 * (16 pauses of 100 ms), in far shorter steps */
#define BUSY_WAIT_LIMIT  apr_time_from_msec(1600)
#define BUSY_PAUSE_FIRST apr_time_from_msec(1)
#define BUSY_PAUSE_MAX   apr_time_from_msec(16)

enum { LITE_BEGIN = PM_SQL_COUNT, LITE_COMMIT, LITE_ROLLBACK, LITE_BEGIN_IMMEDIATE, LITE_COUNT };

struct pm_db_sqlite {
    sqlite3 *conn;
    sqlite3_stmt *stmts[LITE_COUNT];  /* by pm_sql_id, then the four above */
};

static const char *const plain_sql[] = { "BEGIN", "COMMIT", "ROLLBACK", "BEGIN IMMEDIATE" };

void pm_db_sqlite_forget(pm_db_sqlite *lite)
{
    int i;

    for (i = 0; lite && i < LITE_COUNT; i++) {
        if (lite->stmts[i]) {
            sqlite3_finalize(lite->stmts[i]);
            lite->stmts[i] = NULL;
        }
    }
}

static apr_status_t forget_on_cleanup(void *data)
{
    pm_db_sqlite_forget(data);
    return APR_SUCCESS;
}

pm_db_sqlite *pm_db_sqlite_of(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                              apr_pool_t *conn_pool)
{
    pm_db_sqlite *lite = NULL;
    char key[64];

    if (strcmp(apr_dbd_name(driver), "sqlite3") != 0) {
        return NULL;
    }
    /* one pool may hold several connections (the unit tests'): one set each */
    apr_snprintf(key, sizeof(key), "pm_db_sqlite:%pp", (void *)handle);
    apr_pool_userdata_get((void **)&lite, key, conn_pool);
    if (lite == NULL) {
        lite = apr_pcalloc(conn_pool, sizeof(*lite));
        lite->conn = apr_dbd_native_handle(driver, handle);
        /* registered after the connection's own close (mod_dbd, the admin tool's
         * pool), so it runs first: SQLite closes no connection with live statements */
        apr_pool_userdata_set(lite, key, NULL, conn_pool);   /* copies key */
        apr_pool_cleanup_register(conn_pool, lite, forget_on_cleanup, apr_pool_cleanup_null);
    }
    return lite->conn ? lite : NULL;
}

/* apr_dbd's placeholders (%s, %d, %lld; %% for a percent sign) as SQLite's ?. */
static const char *sqlite_text(apr_pool_t *p, const char *sql)
{
    char *out = apr_palloc(p, strlen(sql) + 1), *o = out;
    const char *s;

    for (s = sql; *s; s++) {
        if (s[0] == '%' && s[1] == '%') {
            *o++ = '%';
            s++;
        }
        else if (s[0] == '%' && apr_isalpha(s[1])) {
            while (s[1] == 'l' || s[1] == 'h') {
                s++;
            }
            if (s[1]) {
                s++;                  /* the conversion letter */
            }
            *o++ = '?';
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static sqlite3_stmt *statement(pm_db_sqlite *lite, int slot, apr_pool_t *p, const char **msg)
{
    const char *sql;

    if (lite->stmts[slot]) {
        return lite->stmts[slot];
    }
    /* SQLite keeps its own copy of the text */
    sql = slot < PM_SQL_COUNT ? sqlite_text(p, pm_sql_get(slot)->sql)
                              : plain_sql[slot - PM_SQL_COUNT];
    if (sqlite3_prepare_v3(lite->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &lite->stmts[slot],
                           NULL) != SQLITE_OK) {
        *msg = apr_pstrdup(p, sqlite3_errmsg(lite->conn));
        sqlite3_finalize(lite->stmts[slot]);
        lite->stmts[slot] = NULL;
    }
    return lite->stmts[slot];
}

/* One step; a busy file before the first row is waited for, briefly. */
static int step_waiting(sqlite3_stmt *stmt, int first)
{
    apr_interval_time_t pause = BUSY_PAUSE_FIRST, waited = 0;
    int rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_BUSY && first && waited < BUSY_WAIT_LIMIT) {
        apr_sleep(pause);
        waited += pause;
        pause = pause * 2 > BUSY_PAUSE_MAX ? BUSY_PAUSE_MAX : pause * 2;
    }
    return rc;
}

static void push_row(sqlite3_stmt *stmt, apr_pool_t *p, apr_array_header_t *rows)
{
    pm_row *out = apr_array_push(rows);
    int i, ncols = sqlite3_column_count(stmt);

    out->ncols = ncols;
    out->v = apr_pcalloc(p, sizeof(char *) * (ncols > 0 ? ncols : 1));
    for (i = 0; i < ncols; i++) {
        /* every value as text, as APR's driver gave them; NULL stays NULL */
        if (sqlite3_column_type(stmt, i) != SQLITE_NULL) {
            const char *text = (const char *)sqlite3_column_text(stmt, i);
            out->v[i] = apr_pstrmemdup(p, text ? text : "", sqlite3_column_bytes(stmt, i));
        }
    }
}

static apr_status_t run_slot(pm_db_sqlite *lite, int slot, int nargs, const char **args,
                             apr_pool_t *p, pm_db_sink *sink, int *changes,
                             const char **msg)
{
    sqlite3_stmt *stmt = statement(lite, slot, p, msg);
    int i, rc, nrows = 0;

    if (stmt == NULL) {
        return APR_EGENERAL;
    }
    for (i = 0; i < nargs; i++) {
        /* text, as APR's driver bound every value: the SQL casts where it must */
        if (args[i]) {
            sqlite3_bind_text(stmt, i + 1, args[i], -1, SQLITE_STATIC);
        }
        else {
            sqlite3_bind_null(stmt, i + 1);
        }
    }
    while ((rc = step_waiting(stmt, nrows == 0)) == SQLITE_ROW) {
        nrows++;
        if (sink) {
            push_row(stmt, sink->p, sink->rows);
            if (pm_db_sink_pass(sink, 0) != APR_SUCCESS) {
                break;                /* the caller's stop: the rest is not read */
            }
        }
    }
    if (rc == SQLITE_DONE && sink) {
        pm_db_sink_pass(sink, 1);
    }
    if (rc != SQLITE_DONE && !(sink && sink->stopped)) {
        *msg = apr_pstrdup(p, sqlite3_errmsg(lite->conn));
    }
    else if (changes) {
        *changes = sqlite3_changes(lite->conn);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (sink && sink->stopped) {
        return sink->stopped;
    }
    return rc == SQLITE_DONE ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t pm_db_sqlite_run(pm_db_sqlite *lite, pm_sql_id id, const char **args,
                              apr_pool_t *p, pm_db_sink *sink, int *changes,
                              const char **msg)
{
    return run_slot(lite, id, pm_sql_get(id)->nargs, args, p, sink, changes, msg);
}

apr_status_t pm_db_sqlite_begin(pm_db_sqlite *lite, apr_pool_t *p, int immediate,
                                 const char **msg)
{
    return run_slot(lite, immediate ? LITE_BEGIN_IMMEDIATE : LITE_BEGIN, 0, NULL, p, NULL,
                    NULL, msg);
}

apr_status_t pm_db_sqlite_commit(pm_db_sqlite *lite, apr_pool_t *p, const char **msg)
{
    return run_slot(lite, LITE_COMMIT, 0, NULL, p, NULL, NULL, msg);
}

apr_status_t pm_db_sqlite_rollback(pm_db_sqlite *lite, apr_pool_t *p, const char **msg)
{
    return run_slot(lite, LITE_ROLLBACK, 0, NULL, p, NULL, NULL, msg);
}

#else  /* without SQLite's headers every SQLite statement goes through apr_dbd */

pm_db_sqlite *pm_db_sqlite_of(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                              apr_pool_t *conn_pool)
{
    return NULL;
}

apr_status_t pm_db_sqlite_run(pm_db_sqlite *lite, pm_sql_id id, const char **args,
                              apr_pool_t *p, pm_db_sink *sink, int *changes,
                              const char **msg)
{
    return APR_ENOTIMPL;
}

apr_status_t pm_db_sqlite_begin(pm_db_sqlite *lite, apr_pool_t *p, int immediate,
                                 const char **msg)
{
    return APR_ENOTIMPL;
}

apr_status_t pm_db_sqlite_commit(pm_db_sqlite *lite, apr_pool_t *p, const char **msg)
{
    return APR_ENOTIMPL;
}

apr_status_t pm_db_sqlite_rollback(pm_db_sqlite *lite, apr_pool_t *p, const char **msg)
{
    return APR_ENOTIMPL;
}

void pm_db_sqlite_forget(pm_db_sqlite *lite)
{
}

#endif
