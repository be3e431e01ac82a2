/* admin_schema.c — `init`: creates the schema from <schema-dir>/<sqlite|postgresql>.sql
 * and upgrades older databases with the numbered migrations in
 * <schema-dir>/migrations/<driver>/NNN-name.sql, each in its own transaction;
 * then computes the name keys of clients that have none. */
#include "admin.h"
#include "pm_sqlsplit.h"

#include <apr_file_info.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The base schema files create version 1; every later version N comes from a
 * migration file whose name starts with N written as three digits. */
#define BASE_VERSION 1

typedef struct {
    int version;
    const char *name;   /* file name, e.g. 002-add-index.sql */
    const char *path;
} migration;

static const char *base_schema_file(const char *driver)
{
    return strcmp(driver, "pgsql") == 0 ? "postgresql.sql" : "sqlite.sql";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The version a file named NNN-name.sql upgrades to (name: letters, digits,
 * '-', '_'), or 0 when the name does not have that shape. */
static int migration_version(const char *file)
{
    size_t len = strlen(file), i;

    if (len < 9 || !is_digit(file[0]) || !is_digit(file[1]) || !is_digit(file[2])
        || file[3] != '-' || strcmp(file + len - 4, ".sql") != 0) {
        return 0;
    }
    for (i = 4; i < len - 4; i++) {
        char c = file[i];

        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || c == '-' || c == '_')) {
            return 0;
        }
    }
    return (file[0] - '0') * 100 + (file[1] - '0') * 10 + (file[2] - '0');
}

static int by_version(const void *a, const void *b)
{
    return ((const migration *)a)->version - ((const migration *)b)->version;
}

/* Checks that the sorted migrations are exactly versions 2, 3, … with no gap or
 * duplicate, so every older database has a path to the newest version. */
static int check_sequence(const apr_array_header_t *list, const char *dir)
{
    int i;

    for (i = 0; i < list->nelts; i++) {
        const migration *m = &APR_ARRAY_IDX(list, i, migration);

        if (m->version != BASE_VERSION + 1 + i) {
            admin_error("%s: migration %s is out of sequence (expected version %03d next; "
                        "versions must run from %03d without gaps or duplicates)",
                        dir, m->name, BASE_VERSION + 1 + i, BASE_VERSION + 1);
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

/* Lists <schema-dir>/migrations/<driver>/ sorted by version. A missing directory
 * means no migrations; a .sql file with a malformed name is an error. */
static int list_migrations(apr_pool_t *p, const char *schema_dir, const char *driver,
                           apr_array_header_t **out)
{
    const char *dir = apr_pstrcat(p, schema_dir, "/migrations/", driver, NULL);
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;

    *out = apr_array_make(p, 4, sizeof(migration));
    rv = apr_dir_open(&d, dir, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return ADMIN_OK;
    }
    if (rv != APR_SUCCESS) {
        char buf[256];

        admin_error("cannot read %s: %s", dir, apr_strerror(rv, buf, sizeof(buf)));
        return ADMIN_FAIL;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        size_t len = strlen(fi.name);
        migration *m;

        if (fi.filetype != APR_REG || len < 4 || strcmp(fi.name + len - 4, ".sql") != 0) {
            continue;
        }
        if (migration_version(fi.name) <= BASE_VERSION) {
            admin_error("%s/%s: migration files are named NNN-name.sql with NNN >= %03d",
                        dir, fi.name, BASE_VERSION + 1);
            apr_dir_close(d);
            return ADMIN_FAIL;
        }
        m = apr_array_push(*out);
        m->version = migration_version(fi.name);
        m->name = apr_pstrdup(p, fi.name);
        m->path = apr_pstrcat(p, dir, "/", fi.name, NULL);
    }
    apr_dir_close(d);
    qsort((*out)->elts, (*out)->nelts, sizeof(migration), by_version);
    return check_sequence(*out, dir);
}

/* Runs every statement of a script file inside the current transaction. */
static int run_script(admin_db *db, const char *path)
{
    apr_array_header_t *statements;
    const char *error;
    char *text;
    apr_size_t len;
    apr_status_t rv;
    int i;

    if ((rv = admin_read_file(db->pool, path, &text, &len)) != APR_SUCCESS) {
        char buf[256];

        admin_error("cannot read %s: %s", path, apr_strerror(rv, buf, sizeof(buf)));
        return ADMIN_FAIL;
    }
    if (pm_sql_split(db->pool, text, len, &statements, &error) != APR_SUCCESS) {
        admin_error("%s: %s", path, error);
        return ADMIN_FAIL;
    }
    for (i = 0; i < statements->nelts; i++) {
        const pm_script_statement *st = &APR_ARRAY_IDX(statements, i, pm_script_statement);
        const char *where = apr_psprintf(db->pool, "%s line %u", path, st->line);

        if (admin_db_exec_script_statement(db, st->sql, where) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

/* A database with our tables but no schema_version was not made by this tool. */
static int refuse_unversioned(admin_db *db)
{
    static const char *const ours[] = { "staff", "clients", NULL };
    int i, exists;

    for (i = 0; ours[i]; i++) {
        if (admin_db_table_exists(db, ours[i], &exists) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
        if (exists) {
            admin_error("the database has a '%s' table but no schema_version table; "
                        "refusing to change a schema this tool did not create", ours[i]);
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

static int create_schema(admin_db *db, const admin_options *o, int *version)
{
    const char *path = apr_pstrcat(db->pool, o->schema_dir, "/",
                                   base_schema_file(db->driver_name), NULL);

    if (refuse_unversioned(db) != ADMIN_OK || admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (run_script(db, path) != ADMIN_OK || admin_db_schema_version(db, version) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    if (*version < BASE_VERSION) {
        admin_db_rollback(db);
        admin_error("%s did not record a schema version (it must end with "
                    "INSERT INTO schema_version (version) VALUES (%d))", path, BASE_VERSION);
        return ADMIN_FAIL;
    }
    if (admin_db_commit(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("created the schema from %s (version %d)\n", path, *version);
    return ADMIN_OK;
}

/* Applies one migration and records its version, all in one transaction. */
static int apply_migration(admin_db *db, const migration *m)
{
    const char *version = apr_itoa(db->pool, m->version);
    int nrows = 0;

    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (run_script(db, m->path) != ADMIN_OK
        || pm_db_exec(db->exec, PM_SQL_ADMIN_SCHEMA_VERSION_SET, &nrows, version)
           != APR_SUCCESS) {
        admin_db_rollback(db);
        admin_error("migration %s failed; the database stays at version %d",
                    m->name, m->version - 1);
        return ADMIN_FAIL;
    }
    if (nrows != 1) {
        admin_db_rollback(db);
        admin_error("schema_version must hold exactly one row (found %d)", nrows);
        return ADMIN_FAIL;
    }
    if (admin_db_commit(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("applied migration %s (schema version %d)\n", m->name, m->version);
    return ADMIN_OK;
}

int admin_check_schema_dir(apr_pool_t *p, const char *driver, const char *dir)
{
    const char *path = apr_pstrcat(p, dir, "/", base_schema_file(driver), NULL);
    apr_finfo_t fi;

    if (apr_stat(&fi, path, APR_FINFO_TYPE, p) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        admin_error("no schema file %s (pass --schema-dir DIR, the directory holding "
                    "sqlite.sql, postgresql.sql and migrations/)", path);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

int admin_cmd_init(admin_db *db, const admin_options *o)
{
    apr_array_header_t *migrations;
    int version, latest, created = 0, applied = 0, i;

    if (admin_check_schema_dir(db->pool, db->driver_name, o->schema_dir) != ADMIN_OK
        || list_migrations(db->pool, o->schema_dir, db->driver_name, &migrations) != ADMIN_OK
        || admin_db_schema_version(db, &version) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    latest = BASE_VERSION + migrations->nelts;
    if (version > latest) {
        admin_error("the database schema is version %d, newer than the newest this tool "
                    "knows in %s (version %d); use a newer portal-manager-admin",
                    version, o->schema_dir, latest);
        return ADMIN_FAIL;
    }
    if (version == 0) {
        if (create_schema(db, o, &version) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
        created = 1;
    }
    for (i = 0; i < migrations->nelts; i++) {
        const migration *m = &APR_ARRAY_IDX(migrations, i, migration);

        if (m->version > version) {
            if (apply_migration(db, m) != ADMIN_OK) {
                return ADMIN_FAIL;
            }
            version = m->version;
            applied++;
        }
    }
    if (!created && !applied) {
        printf("the schema is up to date (version %d); nothing to do\n", version);
    }
    else if (applied) {
        printf("the schema is now at version %d\n", version);
    }
    /* a migration may have forgotten every client's keys (004 did): compute them
     * here, not in the first list request */
    if (admin_clients_fill_keys(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    /* stock mod_authn_dbd keeps its prepared login query on pooled SQLite connections,
     * which fail from now on ("database schema has changed"): the last line */
    if (applied && !created && strcmp(db->driver_name, "sqlite3") == 0) {
        printf("now reload Apache (systemctl reload apache2): until then the client "
               "portal's login answers 500 (README, Upgrades)\n");
    }
    return ADMIN_OK;
}
