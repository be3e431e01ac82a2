/* admin_db.c — what only the admin tool does with a database: open a sqlite3 or
 * pgsql connection from driver and parameters (SQLite pragmas included), run the
 * statements of schema and migration scripts, and the executor (pm_db.c) over it,
 * whose failures are reported on stderr here. */
#include "admin.h"
#include "pm_settings_def.h"
#include "pm_collate.h"
#include "pm_columns.h"
#include "pm_locale.h"

#include <stdio.h>

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *db_error(admin_db *db, int rv)
{
    const char *msg = pm_db_one_line(db->pool, apr_dbd_error(db->driver, db->handle, rv));

    return (msg && *msg) ? msg : apr_psprintf(db->pool, "error %d", rv);
}

static void report(void *ctx, pm_db_event ev, const char *label, const char *msg)
{
    switch (ev) {
    case PM_DB_EV_MISSING:
        admin_error("statement %s is not prepared", label);
        break;
    case PM_DB_EV_FAILED:
        admin_error("database error (%s): %s", label, msg);
        break;
    case PM_DB_EV_BEGIN:
        admin_error("cannot start a transaction: %s", msg);
        break;
    case PM_DB_EV_COMMIT:
        admin_error("commit failed, nothing was changed: %s", msg);
        break;
    case PM_DB_EV_ROLLED_BACK:
        break;
    case PM_DB_EV_COLLATOR:
        admin_error("cannot open the ICU collator for locale %s", msg);
        break;
    }
}

/* No writer gate: a transaction starts with SQLite's write lock (BEGIN IMMEDIATE),
 * which busy_timeout waits for while httpd writes; statements are prepared on
 * first use, as the schema may not exist yet when the tool starts. */
static const pm_db_hooks admin_hooks = { report, NULL, NULL, 0, 1, NULL, NULL, 1 };

/* SQLite: enforce foreign keys, wait for a busy database like the module does,
 * a larger page cache for bulk writes, and switch the file to write-ahead logging. Run before anything is prepared
 * (a flag pragma expires the driver's prepared statements), and as queries:
 * "PRAGMA busy_timeout" answers with a row, which apr_dbd_query on sqlite3 takes
 * for an error. */
static int configure_sqlite(admin_db *db)
{
    static const char *const pragmas[] = {
        "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000",
        /* this connection's page cache, 16 MiB: the bulk writes (init's key fill,
         * clients sync) write in key order, so a larger cache buys nothing (init at
         * 100,000 clients: 9.7 s and 50 MB resident; with 64 MiB 10.1 s and 140 MB) */
        "PRAGMA cache_size = -16384",
        /* temporary tables and sorts in files: the search keys' stage
         * (pm_client_keys.c) holds 600,000 rows per transaction of init's key fill
         * and 2.4 million in a 100,000-client sync, sorted once; in memory, init
         * reached 255 MB */
        "PRAGMA temp_store = FILE",
        /* persistent in the file: readers never wait for a writer, so httpd's new
         * connections can prepare statements while another one writes */
        "PRAGMA journal_mode = WAL", NULL
    };
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    int i, rv;

    for (i = 0; pragmas[i]; i++) {
        res = NULL;
        if ((rv = apr_dbd_select(db->driver, db->pool, db->handle, &res, pragmas[i], 0)) != 0) {
            admin_error("%s: %s", pragmas[i], db_error(db, rv));
            return ADMIN_FAIL;
        }
        /* read to the end so the driver releases the result set */
        row = NULL;
        while (apr_dbd_get_row(db->driver, db->pool, res, &row, -1) == 0) {
        }
    }
    return ADMIN_OK;
}

/* Root made (or owns) the SQLite file in a directory that belongs to someone else
 * (Debian: /var/lib/portal-manager, www-data's): httpd can read it but every write
 * fails ("attempt to write a readonly database"). Said, not refused. */
static void warn_root_owned(apr_pool_t *p, const char *path)
{
    char *dir = apr_pstrdup(p, path), *slash = strrchr(dir, '/');
    struct stat file_st, dir_st;

    if (geteuid() != 0) {
        return;
    }
    if (slash) {
        *(slash == dir ? slash + 1 : slash) = '\0';
    }
    if (stat(path, &file_st) == 0 && stat(slash ? dir : ".", &dir_st) == 0
        && file_st.st_uid == 0 && dir_st.st_uid != 0) {
        admin_error("warning: %s belongs to root, but its directory does not: httpd cannot "
                    "write it; run this tool as the directory's owner (runuser -u www-data "
                    "-- portal-manager-admin ...), and chown the database and its -wal and "
                    "-shm files to that user", path);
    }
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
    /* the parameter string may hold a password: never echo it (SQLite's is a path) */
    rv = apr_dbd_open_ex(db->driver, p, params, &db->handle, &err);
    if (rv != APR_SUCCESS || db->handle == NULL) {
        if (strcmp(driver, "sqlite3") == 0) {
            admin_error("cannot open the sqlite3 database %s%s%s (does its directory exist, "
                        "and may this user write there?)", params, err ? ": " : "",
                        err ? err : "");
        }
        else {
            admin_error("cannot open the %s database%s%s", driver, err ? ": " : "",
                        err ? err : "");
        }
        return ADMIN_FAIL;
    }
    pm_sql_init();
    db->exec = pm_db_make(p, db->driver, db->handle, NULL, &admin_hooks, db);
    if (strcmp(driver, "sqlite3") == 0 && configure_sqlite(db) != ADMIN_OK) {
        admin_db_close(db);
        return ADMIN_FAIL;
    }
    if (strcmp(driver, "sqlite3") == 0) {
        warn_root_owned(p, params);
    }
    *dbp = db;
    return ADMIN_OK;
}

void admin_db_close(admin_db *db)
{
    if (db && db->handle) {
        pm_db_rollback(db->exec);
        pm_db_forget_prepared(db->exec);   /* SQLite closes no file with live statements */
        apr_dbd_close(db->driver, db->handle);
        db->handle = NULL;
    }
}

int admin_db_exec_script_statement(admin_db *db, const char *sql, const char *where)
{
    int nrows = 0;
    int rv = apr_dbd_query(db->driver, db->handle, &nrows, sql);

    /* SQLite's driver prepares with the legacy sqlite3_prepare(): a schema change
     * expires what was prepared before it for good, so prepare again on next use.
     * (PostgreSQL plans its prepared statements again by itself.) */
    if (strcmp(db->driver_name, "sqlite3") == 0) {
        pm_db_forget_prepared(db->exec);
    }
    if (rv != 0) {
        admin_error("%s: %s", where, db_error(db, rv));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

int admin_db_begin(admin_db *db)
{
    return pm_db_begin(db->exec) == APR_SUCCESS ? ADMIN_OK : ADMIN_FAIL;
}

/* Callers roll back (admin_db_rollback) as soon as a statement fails, so this
 * is only reached when every statement succeeded. */
int admin_db_commit(admin_db *db)
{
    return pm_db_commit(db->exec) == APR_SUCCESS ? ADMIN_OK : ADMIN_FAIL;
}

void admin_db_rollback(admin_db *db)
{
    pm_db_rollback(db->exec);
}

int admin_db_count(admin_db *db, pm_sql_id id, int *n, const char *arg1, const char *arg2)
{
    apr_array_header_t *rows;

    *n = 0;
    if (pm_db_select(db->exec, id, &rows, arg1, arg2) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    *n = (int)pm_row_int(pm_first_row(rows), COUNT_N, 0);
    return ADMIN_OK;
}

int admin_db_table_exists(admin_db *db, const char *table, int *exists)
{
    pm_sql_id id = strcmp(db->driver_name, "pgsql") == 0 ? PM_SQL_ADMIN_TABLE_EXISTS_PGSQL
                                                         : PM_SQL_ADMIN_TABLE_EXISTS_SQLITE;
    int count;

    if (admin_db_count(db, id, &count, table, NULL) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    *exists = count > 0;
    return ADMIN_OK;
}

int admin_db_schema_version(admin_db *db, int *version)
{
    apr_array_header_t *rows;
    int exists;

    *version = 0;
    if (admin_db_table_exists(db, "schema_version", &exists) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (!exists) {
        return ADMIN_OK;
    }
    if (pm_db_select(db->exec, PM_SQL_ADMIN_SCHEMA_VERSION, &rows) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    *version = (int)pm_row_int(pm_first_row(rows), SCHEMA_VERSION, 0);
    return ADMIN_OK;
}

/* The collation_locale setting is a JSON string in the settings table. */
/* The stored setting name, a JSON string that known() accepts, else *out = dflt. */
static int stored_choice(admin_db *db, const char *name, int (*known)(const char *),
                         const char *dflt, const char **out)
{
    const char *v;
    apr_size_t n;

    *out = dflt;
    if (pm_setting_stored(db->exec, name, &v) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    n = v ? strlen(v) : 0;
    if (n > 2 && v[0] == '"' && v[n - 1] == '"') {
        const char *value = apr_pstrmemdup(db->pool, v + 1, n - 2);
        if (known(value)) {
            *out = value;
        }
    }
    return ADMIN_OK;
}

int admin_db_locale(admin_db *db, const char **locale)
{
    return stored_choice(db, "collation_locale", pm_collate_locale_known,
                         PM_COLLATE_DEFAULT_LOCALE, locale);
}

int admin_db_language(admin_db *db, const char **language)
{
    return stored_choice(db, "default_language", pm_language_known, "en", language);
}

void admin_print_rows(const char *header, const apr_array_header_t *rows)
{
    int i, j;

    printf("%s\n", header);
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        for (j = 0; j < r->ncols; j++) {
            printf("%s%s", j ? "\t" : "", r->v[j] ? r->v[j] : "");
        }
        printf("\n");
    }
}
