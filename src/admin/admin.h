/* admin.h — what the parts of portal-manager-admin share: exit statuses, the
 * parsed command line, the database handle and helpers (admin_db.c), and one
 * entry point per command (admin_schema.c, _staff.c, _clients.c, _demo.c). */
#ifndef PM_ADMIN_H
#define PM_ADMIN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_dbd.h>

#define ADMIN_OK    0   /* done */
#define ADMIN_FAIL  1   /* a failure: bad data, unknown user, database error */
#define ADMIN_USAGE 2   /* the command line itself is wrong */

/* The command line after parsing. */
typedef struct {
    const char *driver;         /* "sqlite3" or "pgsql" */
    const char *params;         /* DBDParams-style connection string */
    const char *schema_dir;     /* for init */
    const char *display_name;   /* staff add/update --name */
    int all_clients;            /* staff add/update: -1 unset, 0 --no-all-clients, 1 --all-clients */
    const char **args;          /* the words after the command group (e.g. USER, CLIENT_ID) */
    int nargs;
} admin_options;

/* An open database: the apr_dbd driver and connection, and the transaction in
 * progress, if any. */
typedef struct {
    apr_pool_t *pool;
    const char *driver_name;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_dbd_transaction_t *trans;
} admin_db;

/* One result row: ncols column values, NULL for SQL NULL (sqlite3) or "" (pgsql). */
typedef struct {
    const char **cols;
    int ncols;
} admin_row;

/* ---- admin_main.c ---- */
void admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
apr_status_t admin_read_file(apr_pool_t *p, const char *path, char **buf, apr_size_t *len);
apr_int64_t admin_now(void);

/* ---- admin_db.c: every function reports its own failure on stderr ---- */
int admin_db_open(apr_pool_t *p, const char *driver, const char *params, admin_db **db);
void admin_db_close(admin_db *db);
/* Runs one statement of a schema or migration script, without parameters. */
int admin_db_exec_script_statement(admin_db *db, const char *sql, const char *where);
int admin_db_prepare(admin_db *db, const char *sql, apr_dbd_prepared_t **stmt);
/* Runs a prepared statement with nargs string arguments (NULL = SQL NULL). */
int admin_db_pquery(admin_db *db, apr_dbd_prepared_t *stmt, int *nrows,
                    int nargs, const char **args);
/* Prepares and runs sql once. */
int admin_db_run(admin_db *db, const char *sql, int *nrows, int nargs, const char **args);
/* Prepares and runs a query, collecting every row (admin_row) into *rows. */
int admin_db_select(admin_db *db, const char *sql, int nargs, const char **args,
                    apr_array_header_t **rows);
/* Runs a prepared query, collecting every row (admin_row) into *rows. */
int admin_db_pselect(admin_db *db, apr_dbd_prepared_t *stmt, int nargs, const char **args,
                     apr_array_header_t **rows);
/* Sets *value to the first column of the first row, or NULL when no row came
 * back. Returns ADMIN_OK or ADMIN_FAIL. */
int admin_db_value(admin_db *db, const char *sql, int nargs, const char **args,
                   const char **value);
int admin_db_begin(admin_db *db);
int admin_db_commit(admin_db *db);
void admin_db_rollback(admin_db *db);
/* Sets *exists to 1 when table exists in the database's current schema. */
int admin_db_table_exists(admin_db *db, const char *table, int *exists);
/* The schema version, or 0 when the database has no schema_version table. */
int admin_db_schema_version(admin_db *db, int *version);

/* ---- commands ---- */
/* A wrong --schema-dir fails before the database is opened (or created). */
int admin_check_schema_dir(apr_pool_t *p, const char *driver, const char *dir);
int admin_cmd_init(admin_db *db, const admin_options *o);
int admin_cmd_staff(admin_db *db, const char *sub, const admin_options *o);
int admin_cmd_clients(admin_db *db, const char *sub, const admin_options *o);
int admin_cmd_demo_data(admin_db *db, const admin_options *o);

/* Shared by clients import and demo-data: insert one client (already validated)
 * with its ICU name keys (pm_collate.c: the sort key in the database's
 * collation_locale setting, one search key per name word), using the statements
 * and collators admin_clients_prepare_insert set up. */
typedef struct admin_client_insert admin_client_insert;
int admin_clients_prepare_insert(admin_db *db, admin_client_insert **ins);
int admin_clients_insert(admin_db *db, admin_client_insert *ins, const char *first_name,
                         const char *last_name, const char *date_of_birth,
                         const char *email, const char *now);

/* Rows as tab-separated lines under a header line, on stdout. */
void admin_print_rows(const char *header, const apr_array_header_t *rows);

#endif
