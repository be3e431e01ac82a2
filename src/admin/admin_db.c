/* admin_db.c — the admin tool's database access over APR-util's apr_dbd: open a
 * sqlite3 or pgsql connection, prepared statements with placeholders, row
 * collection, transactions. Failures are reported on stderr here. */
#include "admin.h"

#include <stdio.h>

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static const char *db_error(admin_db *db, int rv)
{
    const char *msg = apr_dbd_error(db->driver, db->handle, rv);

    return (msg && *msg) ? msg : apr_psprintf(db->pool, "error %d", rv);
}

/* SQLite: enforce foreign keys, wait for a busy database like the module does,
 * and switch the file to write-ahead logging.
 * (Run as queries: "PRAGMA busy_timeout" answers with a row, which apr_dbd_query
 * on sqlite3 takes for an error.) */
static int configure_sqlite(admin_db *db)
{
    static const char *const pragmas[] = {
        "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000",
        /* persistent in the file: readers never wait for a writer, so httpd's new
         * connections can prepare statements while another one writes */
        "PRAGMA journal_mode = WAL", NULL
    };
    apr_array_header_t *rows;
    int i;

    for (i = 0; pragmas[i]; i++) {
        if (admin_db_select(db, pragmas[i], 0, NULL, &rows) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

int admin_db_open(apr_pool_t *p, const char *driver, const char *params, admin_db **dbp)
{
    admin_db *db = apr_pcalloc(p, sizeof(*db));
    const char *err = NULL;
    apr_status_t rv;
    char buf[256];

    db->pool = p;
    db->driver_name = driver;
    if ((rv = apr_dbd_init(p)) != APR_SUCCESS) {
        admin_error("cannot initialise apr_dbd: %s", apr_strerror(rv, buf, sizeof(buf)));
        return ADMIN_FAIL;
    }
    rv = apr_dbd_get_driver(p, driver, &db->driver);
    if (rv == APR_ENOTIMPL || rv == APR_EDSOOPEN) {
        admin_error("the apr_dbd driver '%s' is not installed (Debian: apt-get install "
                    "libaprutil1-dbd-%s)", driver, driver);
        return ADMIN_FAIL;
    }
    if (rv != APR_SUCCESS) {
        admin_error("cannot load the apr_dbd driver '%s': %s", driver,
                    apr_strerror(rv, buf, sizeof(buf)));
        return ADMIN_FAIL;
    }
    /* the parameter string may hold a password: never echo it */
    rv = apr_dbd_open_ex(db->driver, p, params, &db->handle, &err);
    if (rv != APR_SUCCESS || db->handle == NULL) {
        admin_error("cannot open the %s database%s%s", driver, err ? ": " : "",
                    err ? err : "");
        return ADMIN_FAIL;
    }
    if (strcmp(driver, "sqlite3") == 0 && configure_sqlite(db) != ADMIN_OK) {
        admin_db_close(db);
        return ADMIN_FAIL;
    }
    *dbp = db;
    return ADMIN_OK;
}

void admin_db_close(admin_db *db)
{
    if (db && db->handle) {
        if (db->trans) {
            admin_db_rollback(db);
        }
        apr_dbd_close(db->driver, db->handle);
        db->handle = NULL;
    }
}

int admin_db_exec_script_statement(admin_db *db, const char *sql, const char *where)
{
    int nrows = 0;
    int rv = apr_dbd_query(db->driver, db->handle, &nrows, sql);

    if (rv != 0) {
        admin_error("%s: %s", where, db_error(db, rv));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

int admin_db_prepare(admin_db *db, const char *sql, apr_dbd_prepared_t **stmt)
{
    int rv;

    *stmt = NULL;
    /* no label: pgsql then sends the text with each execution and infers the
     * parameter types from the statement, as sqlite3 does */
    rv = apr_dbd_prepare(db->driver, db->pool, db->handle, sql, NULL, stmt);
    if (rv != 0) {
        admin_error("cannot prepare \"%s\": %s", sql, db_error(db, rv));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

int admin_db_pquery(admin_db *db, apr_dbd_prepared_t *stmt, int *nrows,
                    int nargs, const char **args)
{
    int n = 0;
    int rv = apr_dbd_pquery(db->driver, db->pool, db->handle, nrows ? nrows : &n, stmt,
                            nargs, args);

    if (rv != 0) {
        admin_error("database error: %s", db_error(db, rv));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

int admin_db_run(admin_db *db, const char *sql, int *nrows, int nargs, const char **args)
{
    apr_dbd_prepared_t *stmt;

    if (admin_db_prepare(db, sql, &stmt) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    return admin_db_pquery(db, stmt, nrows, nargs, args);
}

static admin_row copy_row(admin_db *db, apr_dbd_results_t *res, apr_dbd_row_t *row)
{
    admin_row out;
    int i;

    out.ncols = apr_dbd_num_cols(db->driver, res);
    out.cols = apr_pcalloc(db->pool, sizeof(*out.cols) * (out.ncols ? out.ncols : 1));
    for (i = 0; i < out.ncols; i++) {
        const char *v = apr_dbd_get_entry(db->driver, row, i);

        out.cols[i] = v ? apr_pstrdup(db->pool, v) : NULL;
    }
    return out;
}

int admin_db_select(admin_db *db, const char *sql, int nargs, const char **args,
                    apr_array_header_t **rows)
{
    apr_dbd_prepared_t *stmt;

    if (admin_db_prepare(db, sql, &stmt) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    return admin_db_pselect(db, stmt, nargs, args, rows);
}

int admin_db_pselect(admin_db *db, apr_dbd_prepared_t *stmt, int nargs, const char **args,
                     apr_array_header_t **rows)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rv;

    rv = apr_dbd_pselect(db->driver, db->pool, db->handle, &res, stmt, 1, nargs, args);
    if (rv != 0) {
        admin_error("database error: %s", db_error(db, rv));
        return ADMIN_FAIL;
    }
    *rows = apr_array_make(db->pool, 8, sizeof(admin_row));
    /* read to the end so the driver releases the result set */
    while (apr_dbd_get_row(db->driver, db->pool, res, &row, -1) == 0) {
        *(admin_row *)apr_array_push(*rows) = copy_row(db, res, row);
    }
    return ADMIN_OK;
}

int admin_db_value(admin_db *db, const char *sql, int nargs, const char **args,
                   const char **value)
{
    apr_array_header_t *rows;

    *value = NULL;
    if (admin_db_select(db, sql, nargs, args, &rows) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (rows->nelts > 0 && APR_ARRAY_IDX(rows, 0, admin_row).ncols > 0) {
        *value = APR_ARRAY_IDX(rows, 0, admin_row).cols[0];
    }
    return ADMIN_OK;
}

int admin_db_begin(admin_db *db)
{
    int rv;

    db->trans = NULL;
    rv = apr_dbd_transaction_start(db->driver, db->pool, db->handle, &db->trans);
    if (rv != 0) {
        admin_error("cannot start a transaction: %s", db_error(db, rv));
        db->trans = NULL;
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* Callers roll back (admin_db_rollback) as soon as a statement fails, so this
 * is only reached when every statement succeeded. */
int admin_db_commit(admin_db *db)
{
    int rv = apr_dbd_transaction_end(db->driver, db->pool, db->trans);

    db->trans = NULL;
    if (rv != 0) {
        admin_error("commit failed, nothing was changed: %s", db_error(db, rv));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

void admin_db_rollback(admin_db *db)
{
    if (db->trans == NULL) {
        return;
    }
    apr_dbd_transaction_mode_set(db->driver, db->trans, APR_DBD_TRANSACTION_ROLLBACK);
    apr_dbd_transaction_end(db->driver, db->pool, db->trans);
    db->trans = NULL;
}

int admin_db_table_exists(admin_db *db, const char *table, int *exists)
{
    const char *sql = strcmp(db->driver_name, "pgsql") == 0
        ? "SELECT count(*) FROM pg_catalog.pg_tables "
          "WHERE schemaname = current_schema() AND tablename = %s"
        : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s";
    const char *count;

    if (admin_db_value(db, sql, 1, &table, &count) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    *exists = count && atoi(count) > 0;
    return ADMIN_OK;
}

int admin_db_schema_version(admin_db *db, int *version)
{
    int exists;
    const char *v;

    *version = 0;
    if (admin_db_table_exists(db, "schema_version", &exists) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (!exists) {
        return ADMIN_OK;
    }
    if (admin_db_value(db, "SELECT max(version) FROM schema_version", 0, NULL, &v)
        != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    *version = (v && *v) ? atoi(v) : 0;
    return ADMIN_OK;
}

void admin_print_rows(const char *header, const apr_array_header_t *rows)
{
    int i, j;

    printf("%s\n", header);
    for (i = 0; i < rows->nelts; i++) {
        const admin_row *r = &APR_ARRAY_IDX(rows, i, admin_row);
        for (j = 0; j < r->ncols; j++) {
            printf("%s%s", j ? "\t" : "", r->cols[j] ? r->cols[j] : "");
        }
        printf("\n");
    }
}
