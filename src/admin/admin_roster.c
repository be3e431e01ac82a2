/* admin_roster.c — the commands that make the database follow the EHR:
 * `clients sync` (a thin wrapper: the file streamed into pm_roster_apply, one
 * transaction, its report) and `staff sync-caseloads` (each named staff member's
 * grants become exactly the file's set). */
#include "admin.h"
#include "pm_columns.h"
#include "pm_csv.h"
#include "pm_roster.h"

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CASELOAD_HEADER "username,external_id"

static apr_status_t read_file(void *ctx, char *buf, apr_size_t *len)
{
    apr_status_t rv = apr_file_read(ctx, buf, len);

    if (rv == APR_EOF) {
        *len = 0;
        return APR_SUCCESS;
    }
    return rv;
}

static int open_input(apr_pool_t *p, const char *path, apr_file_t **f)
{
    apr_status_t rv = apr_file_open(f, path, APR_FOPEN_READ | APR_FOPEN_BINARY
                                    | APR_FOPEN_BUFFERED, 0, p);
    char msg[256];

    if (rv != APR_SUCCESS) {
        admin_error("cannot read %s: %s", path, apr_strerror(rv, msg, sizeof(msg)));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

static void print_errors(const char *file, pm_roster_format format,
                         const apr_array_header_t *errors)
{
    int i;

    for (i = 0; i < errors->nelts; i++) {
        const pm_roster_error *e = &APR_ARRAY_IDX(errors, i, pm_roster_error);

        if (e->where < 0) {
            fprintf(stderr, "portal-manager-admin: %s: %s\n", file, e->message);
        }
        else if (format == PM_ROSTER_CSV) {
            fprintf(stderr, "portal-manager-admin: %s line %d: %s\n", file, e->where,
                    e->message);
        }
        else {
            fprintf(stderr, "portal-manager-admin: %s entry %d (%s): %s\n", file, e->where,
                    e->field ? e->field : "resource", e->message);
        }
    }
}

static void print_summary(const pm_roster_result *r)
{
    printf("added %d, updated %d, unchanged %d, discharged %d\n", r->added, r->updated,
           r->unchanged, r->discharged);
}

/* --format, else the file name: *.json is FHIR, anything else CSV. */
static int pick_format(const admin_options *o, pm_roster_format *format)
{
    const char *file = o->args[0];
    size_t n = strlen(file);

    if (o->format == NULL) {
        *format = n > 5 && strcmp(file + n - 5, ".json") == 0 ? PM_ROSTER_FHIR : PM_ROSTER_CSV;
        return ADMIN_OK;
    }
    if (strcmp(o->format, "csv") == 0 || strcmp(o->format, "fhir") == 0) {
        *format = o->format[0] == 'c' ? PM_ROSTER_CSV : PM_ROSTER_FHIR;
        return ADMIN_OK;
    }
    admin_error("--format must be csv or fhir");
    return ADMIN_USAGE;
}

int admin_cmd_clients_sync(admin_db *db, const admin_options *o)
{
    pm_roster_options ro;
    pm_roster_result res;
    apr_file_t *f;
    int rc;

    memset(&ro, 0, sizeof(ro));
    if ((rc = pick_format(o, &ro.format)) != ADMIN_OK) {
        return rc;
    }
    if (ro.format == PM_ROSTER_CSV && o->identifier_system) {
        admin_error("--identifier-system applies to --format fhir only");
        return ADMIN_USAGE;
    }
    ro.identifier_system = o->identifier_system;
    ro.discharge_missing = o->discharge_missing;
    ro.actor = "sync";
    ro.sorted_keys = 1;
    ro.now = admin_now();
    if (open_input(db->pool, o->args[0], &f) != ADMIN_OK
        || admin_db_locale(db, &ro.locale) != ADMIN_OK
        || pm_roster_disables_accounts(db->exec, &ro.disable_accounts) != APR_SUCCESS
        || admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (pm_roster_apply(db->exec, db->pool, &ro, read_file, f, &res) != APR_SUCCESS) {
        admin_db_rollback(db);
        admin_error("the sync stopped on an error; nothing was changed");
        return ADMIN_FAIL;
    }
    if (res.errors->nelts > 0) {
        admin_db_rollback(db);
        print_errors(o->args[0], ro.format, res.errors);
        admin_error("%d problem%s in %s; nothing was changed", res.errors->nelts,
                    res.errors->nelts == 1 ? "" : "s", o->args[0]);
        memset(&res, 0, sizeof(res));
        print_summary(&res);
        return ADMIN_FAIL;
    }
    if (o->dry_run) {
        admin_db_rollback(db);
        printf("dry run: nothing was changed\n");
    }
    else if (admin_db_commit(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    print_summary(&res);
    return ADMIN_OK;
}

/* ---- staff sync-caseloads --------------------------------------------------------- */

typedef struct {
    admin_db *db;
    const char *file;
    apr_hash_t *caseloads;   /* username → apr_hash_t of client id → "" */
    int bad;
} caseload_file;

static void caseload_problem(caseload_file *cf, unsigned int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void caseload_problem(caseload_file *cf, unsigned int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    admin_line_error(cf->file, line, fmt, ap);
    va_end(ap);
    cf->bad++;
}

/* One row: a known staff member and a known chart number. */
static int caseload_row(caseload_file *cf, const pm_csv_record *rec)
{
    apr_pool_t *p = cf->db->pool;
    apr_array_header_t *rows;
    apr_hash_t *set;
    const char *user, *chart, *id;
    apr_size_t len;

    if (rec->nfields != 2) {
        caseload_problem(cf, rec->line, "has %d fields, expected 2 (" CASELOAD_HEADER ")",
                         rec->nfields);
        return ADMIN_OK;
    }
    user = pm_csv_field_trimmed(p, &rec->fields[0], &len);
    chart = pm_csv_field_trimmed(p, &rec->fields[1], &len);
    if ((set = apr_hash_get(cf->caseloads, user, APR_HASH_KEY_STRING)) == NULL) {
        if (pm_db_select(cf->db->exec, PM_SQL_STAFF_GET, &rows, user) != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
        if (rows->nelts == 0) {
            caseload_problem(cf, rec->line, "no staff member '%s'", user);
            return ADMIN_OK;
        }
        set = apr_hash_make(p);
        apr_hash_set(cf->caseloads, user, APR_HASH_KEY_STRING, set);
    }
    if (pm_db_select(cf->db->exec, PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID, &rows, chart)
        != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if ((id = pm_row_str(pm_first_row(rows), ROSTER_ID)) == NULL) {
        caseload_problem(cf, rec->line, "no client with chart number '%s'", chart);
        return ADMIN_OK;
    }
    apr_hash_set(set, id, APR_HASH_KEY_STRING, "");
    return ADMIN_OK;
}

static int read_caseloads(caseload_file *cf, const char *buf, apr_size_t len)
{
    pm_csv_reader *rd = pm_csv_reader_make(cf->db->pool, buf, len);
    pm_csv_record rec;
    pm_csv_result r;
    const char *error;
    unsigned int line;
    int header = 0;

    while ((r = pm_csv_next(rd, cf->db->pool, &rec, &error, &line)) != PM_CSV_END) {
        if (r == PM_CSV_ERROR) {
            caseload_problem(cf, line, "%s", error);
        }
        else if (rec.nfields == 1 && rec.fields[0].len == 0) {
            continue;
        }
        else if (!header) {
            header = 1;
            if (rec.nfields != 2 || strcmp(rec.fields[0].value, "username") != 0
                || strcmp(rec.fields[1].value, "external_id") != 0) {
                caseload_problem(cf, rec.line, "the header must be exactly " CASELOAD_HEADER);
                return ADMIN_OK;
            }
        }
        else if (caseload_row(cf, &rec) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
    }
    if (!header) {
        caseload_problem(cf, 1, "the file is empty; its first line must be " CASELOAD_HEADER);
    }
    return ADMIN_OK;
}

/* One staff member's grants become exactly want. */
static int settle_caseload(admin_db *db, const char *user, apr_hash_t *want, int *granted,
                           int *revoked, int *unchanged)
{
    apr_array_header_t *rows;
    apr_hash_t *have = apr_hash_make(db->pool);
    apr_hash_index_t *hi;
    int i;

    if (pm_db_select(db->exec, PM_SQL_ADMIN_CASELOAD, &rows, user) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char *id = pm_row_str(&APR_ARRAY_IDX(rows, i, pm_row), CASELOAD_CLIENT_ID);

        apr_hash_set(have, id, APR_HASH_KEY_STRING, "");
        if (apr_hash_get(want, id, APR_HASH_KEY_STRING)) {
            (*unchanged)++;
        }
        else if (pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_DELETE, NULL, user, id) != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
        else {
            (*revoked)++;
        }
    }
    for (hi = apr_hash_first(db->pool, want); hi; hi = apr_hash_next(hi)) {
        const char *id = apr_hash_this_key(hi);

        if (apr_hash_get(have, id, APR_HASH_KEY_STRING) == NULL) {
            if (pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_INSERT, NULL, user, id) != APR_SUCCESS) {
                return ADMIN_FAIL;
            }
            (*granted)++;
        }
    }
    return ADMIN_OK;
}

int admin_cmd_staff_sync_caseloads(admin_db *db, const admin_options *o)
{
    caseload_file cf = { db, o->args[0], apr_hash_make(db->pool), 0 };
    int granted = 0, revoked = 0, unchanged = 0;
    apr_hash_index_t *hi;
    apr_status_t rv;
    apr_size_t len;
    char *buf, msg[256];

    if ((rv = admin_read_file(db->pool, cf.file, &buf, &len)) != APR_SUCCESS) {
        admin_error("cannot read %s: %s", cf.file, apr_strerror(rv, msg, sizeof(msg)));
        return ADMIN_FAIL;
    }
    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (read_caseloads(&cf, buf, len) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    if (cf.bad > 0) {
        admin_db_rollback(db);
        admin_error("%d problem%s in %s; nothing was changed", cf.bad, cf.bad == 1 ? "" : "s",
                    cf.file);
        return ADMIN_FAIL;
    }
    for (hi = apr_hash_first(db->pool, cf.caseloads); hi; hi = apr_hash_next(hi)) {
        if (settle_caseload(db, apr_hash_this_key(hi), apr_hash_this_val(hi), &granted,
                            &revoked, &unchanged) != ADMIN_OK) {
            admin_db_rollback(db);
            return ADMIN_FAIL;
        }
    }
    if (admin_db_commit(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("granted %d, revoked %d, unchanged %d\n", granted, revoked, unchanged);
    return ADMIN_OK;
}
