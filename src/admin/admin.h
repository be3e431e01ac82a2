/* admin.h — what the parts of portal-manager-admin share: exit statuses, the
 * parsed command line, the database handle and helpers (admin_db.c), and one
 * entry point per command (admin_schema.c, _staff.c, _clients.c, _demo.c). */
#ifndef PM_ADMIN_H
#define PM_ADMIN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_dbd.h>
#include <jansson.h>
#include <stdarg.h>

#include "pm_client_keys.h"
#include "pm_db.h"

#define ADMIN_OK    0   /* done */
#define ADMIN_FAIL  1   /* a failure: bad data, unknown user, database error */
#define ADMIN_USAGE 2   /* the command line itself is wrong */
#define ADMIN_PARTIAL 3 /* done, but some input was skipped (clients sync --skip-invalid) */
#define ADMIN_TEMPFAIL 75 /* EX_TEMPFAIL: try again later (bounce: the database failed) */

/* The command line after parsing. */
typedef struct {
    const char *driver;         /* "sqlite3" or "pgsql" */
    const char *params;         /* DBDParams-style connection string */
    const char *schema_dir;     /* for init */
    const char *display_name;   /* staff add/update --name */
    int all_clients;            /* staff add/update: -1 unset, 0 --no-all-clients, 1 --all-clients */
    const char *email;          /* staff update --email */
    int no_email;               /* staff update --no-email */
    const char *format;         /* clients sync --format: csv, fhir; NULL: by file name */
    const char *identifier_system; /* clients sync --identifier-system */
    const char *before;         /* audit export|prune --before YYYY-MM-DD */
    apr_array_header_t *anchors; /* audit verify --anchor SEQ:HASH (each a const char *) */
    const char *anchors_from;   /* audit verify --anchors-from FILE (an error log) */
    const char *secret_file;    /* bounce --secret-file */
    const char *recipient;      /* bounce --recipient */
    int dry_run;                /* clients sync, staff sync-caseloads --dry-run */
    int discharge_missing;      /* clients sync --discharge-missing */
    int allow_mass_discharge;   /* clients sync --allow-mass-discharge */
    int skip_invalid;           /* clients sync --skip-invalid */
    const char *encoding;       /* clients sync|import --encoding: the CSV's character set */
    const char *to_driver;      /* copy --to-driver: pgsql */
    const char *to_params;      /* copy --to-params: the target's connection string */
    const char **args;          /* the words after the command group (e.g. USER, CLIENT_ID) */
    int nargs;
} admin_options;

/* An open database: the apr_dbd connection and the executor over it (pm_db.h:
 * the statements of src/core/pm_sql.c by id, rows as pm_row, NULL for SQL NULL). */
typedef struct {
    apr_pool_t *pool;
    const char *driver_name;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    pm_db *exec;
} admin_db;

/* ---- admin_main.c ---- */
void admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "portal-manager-admin: FILE line N: message" on stderr (a bad row of an input file) */
void admin_line_error(const char *file, unsigned int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
apr_status_t admin_read_file(apr_pool_t *p, const char *path, char **buf, apr_size_t *len);
/* The same, made UTF-8 from `encoding` (--encoding; NULL or UTF-8: as it is). */
apr_status_t admin_read_text_file(apr_pool_t *p, const char *path, const char *encoding,
                                  char **buf, apr_size_t *len);
/* Why FILE could not be read (rv: a read error, or PM_CHARSET_IS_UTF8 against
 * --encoding), said on stderr. */
void admin_read_error(const admin_options *o, const char *file, apr_status_t rv);
/* --encoding names a character set ICU knows (or is not given): ADMIN_OK, else the
 * error said and ADMIN_USAGE. */
int admin_check_encoding(const admin_options *o);
apr_int64_t admin_now(void);
/* admin_staff.c: a client id (a positive whole number) normalised, or NULL */
const char *admin_parse_client_id(apr_pool_t *p, const char *s);

/* ---- admin_db.c: what is admin-specific; failures are reported on stderr ---- */
int admin_db_open(apr_pool_t *p, const char *driver, const char *params, admin_db **db);
void admin_db_close(admin_db *db);
/* Runs one statement of a schema or migration script, without parameters. */
int admin_db_exec_script_statement(admin_db *db, const char *sql, const char *where);
/* Transactions of the executor, as ADMIN_OK or ADMIN_FAIL. */
int admin_db_begin(admin_db *db);
int admin_db_commit(admin_db *db);
void admin_db_rollback(admin_db *db);
/* Sets *n to the count a PM_COLS_COUNT statement with up to two arguments gives. */
int admin_db_count(admin_db *db, pm_sql_id id, int *n, const char *arg1, const char *arg2);
/* Sets *exists to 1 when table exists in the database's current schema. */
int admin_db_table_exists(admin_db *db, const char *table, int *exists);
/* The schema version, or 0 when the database has no schema_version table. */
int admin_db_schema_version(admin_db *db, int *version);
/* The collation_locale setting (pm_collate.c), or the default. */
int admin_db_locale(admin_db *db, const char **locale);
/* The setting default_language ("en" when unset or not a known language): the
 * language of a client added without one. */
int admin_db_language(admin_db *db, const char **language);

/* ---- commands ---- */
/* A wrong --schema-dir fails before the database is opened (or created). */
int admin_check_schema_dir(apr_pool_t *p, const char *driver, const char *dir);
int admin_cmd_init(admin_db *db, const admin_options *o);
int admin_cmd_staff(admin_db *db, const char *sub, const admin_options *o);
int admin_cmd_clients(admin_db *db, const char *sub, const admin_options *o);
int admin_cmd_demo_data(admin_db *db, const admin_options *o);
int admin_cmd_audit(admin_db *db, const char *sub, const admin_options *o);
/* admin_copy.c: the whole database into an empty PostgreSQL one */
int admin_cmd_copy(admin_db *src, const admin_options *o);
/* admin_bounce.c */
int admin_cmd_bounce(admin_db *db, const admin_options *o);
/* admin_roster.c */
int admin_cmd_clients_sync(admin_db *db, const admin_options *o);
int admin_cmd_staff_sync_caseloads(admin_db *db, const admin_options *o);
int admin_cmd_clients_set_chart(admin_db *db, const admin_options *o);
int admin_cmd_clients_clear_chart(admin_db *db, const admin_options *o);

/* Shared by clients import and demo-data: the name keyer (pm_client_keys.c) for
 * the database's collation_locale and a stage for the search keys; insert one
 * client (already validated), then its name keys with the module's code
 * (pm_client_keys.c), inside the caller's transaction; *id gets the new client's
 * id. The caller ends with pm_client_keys_stage_finish before its commit. */
int admin_clients_keyer(admin_db *db, pm_client_keyer **k, pm_client_keys_stage **st);
int admin_clients_insert(admin_db *db, pm_client_keyer *k, pm_client_keys_stage *st,
                         const char *first_name,
                         const char *last_name, const char *date_of_birth,
                         const char *email, const char *language, const char *now,
                         const char **id);
/* The name keys of every client that has none (init, after the migrations). */
int admin_clients_fill_keys(admin_db *db);

/* ---- admin_trail.c: the tool's audit rows, user 'admin-tool' ---- */
typedef struct admin_trail admin_trail;
admin_trail *admin_trail_make(apr_pool_t *p);
/* One row to write: detail (a JSON object, taken over; NULL for {}) gets os_user
 * (the effective user's name) and sudo_user (SUDO_USER, when set). */
void admin_trail_add(admin_trail *t, const char *action, const char *client_id,
                     json_t *detail);
/* The rows gathered, appended to the chain in the open transaction (so they commit
 * or roll back with the change), else in one of their own. */
int admin_trail_write(admin_db *db, admin_trail *t);
/* {"staff": user}, the start of most details */
json_t *admin_trail_staff(const char *user);

/* Rows as tab-separated lines under a header line, on stdout. */
void admin_print_rows(const char *header, const apr_array_header_t *rows);

#endif
