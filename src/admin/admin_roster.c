/* admin_roster.c — the commands that make the database follow the EHR:
 * `clients sync` (a thin wrapper: the file streamed into pm_roster_apply, one
 * transaction, its report) and `staff sync-caseloads` (each named staff member's
 * grants become exactly the file's set; each grant added or removed audited). */
#include "admin.h"
#include "pm_columns.h"
#include "pm_charset.h"
#include "pm_csv.h"
#include "pm_roster.h"
#include "pm_text.h"

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASELOAD_HEADER "username,external_id"

#define LIST_MAX 50   /* lines a report lists before "... and N more" */

/* The input file, and why reading it failed (a directory, an I/O error). */
typedef struct {
    apr_file_t *f;
    apr_status_t rv;
} input_file;

static apr_status_t read_file(void *ctx, char *buf, apr_size_t *len)
{
    input_file *in = ctx;
    apr_status_t rv = apr_file_read(in->f, buf, len);

    if (rv == APR_EOF) {
        *len = 0;
        return APR_SUCCESS;
    }
    in->rv = rv;
    return rv;
}

static int open_input(apr_pool_t *p, const char *path, input_file *in)
{
    apr_status_t rv = apr_file_open(&in->f, path, APR_FOPEN_READ | APR_FOPEN_BINARY
                                    | APR_FOPEN_BUFFERED, 0, p);
    char msg[256];

    in->rv = APR_SUCCESS;
    if (rv != APR_SUCCESS) {
        admin_error("cannot read %s: %s", path, apr_strerror(rv, msg, sizeof(msg)));
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* "label value" lines on stdout, at most LIST_MAX, then how many more. */
static void print_list(const char *label, const apr_array_header_t *values)
{
    int i;

    for (i = 0; i < values->nelts && i < LIST_MAX; i++) {
        printf("%s %s\n", label, APR_ARRAY_IDX(values, i, const char *));
    }
    if (values->nelts > LIST_MAX) {
        printf("%s ... and %d more\n", label, values->nelts - LIST_MAX);
    }
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
            fprintf(stderr, "portal-manager-admin: %s entry[%d] (%s): %s\n", file, e->where,
                    e->field ? e->field : "resource", e->message);
        }
    }
}

static void print_summary(const pm_roster_options *ro, const pm_roster_result *r)
{
    printf("added %d, updated %d, unchanged %d, discharged %d", r->added, r->updated,
           r->unchanged, r->discharged);
    if (ro->skip_invalid) {
        printf(", skipped %d", r->skipped);
    }
    if (r->merged_away > 0) {
        printf(", merged away %d (skipped: replaced-by another Patient)", r->merged_away);
    }
    printf("\n");
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

/* What the input said that is no problem: an OperationOutcome's issues (their email
 * addresses masked: an EHR's warning may name a patient's, and cron mails this
 * output), and the entries that name no client (not Patients, or only included by
 * the search). */
static void print_notes(const pm_roster_result *res)
{
    int i;

    for (i = 0; res->notes && i < res->notes->nelts; i++) {
        printf("note: %s\n", pm_mask_emails(res->notes->pool,
                                             APR_ARRAY_IDX(res->notes, i, const char *)));
    }
    if (res->ignored > 0) {
        printf("ignored %d %s (an OperationOutcome, an included Practitioner, an "
               "Encounter ...)\n", res->ignored, res->ignored == 1
               ? "entry that is not a Patient of the search"
               : "entries that are not Patients of the search");
    }
}

/* pm_roster_apply's answer: the problems, or what was (or would be) done. */
static int report_sync(admin_db *db, const admin_options *o, const pm_roster_options *ro,
                       const pm_roster_result *res)
{
    print_notes(res);
    print_errors(o->args[0], ro->format, res->errors);
    if (!pm_roster_may_commit(ro, res)) {
        admin_db_rollback(db);
        admin_error("%d problem%s in %s; nothing was changed", res->errors->nelts,
                    res->errors->nelts == 1 ? "" : "s", o->args[0]);
        return ADMIN_FAIL;
    }
    if (res->errors->nelts > 0) {
        admin_error("%d problem%s in %s; %s the rest", res->errors->nelts,
                    res->errors->nelts == 1 ? "" : "s", o->args[0],
                    o->dry_run ? "would apply" : "applied");
    }
    if (o->dry_run) {
        admin_db_rollback(db);
        print_list("would discharge", res->discharged_ids);
        printf("dry run: nothing was changed\n");
    }
    else if (admin_db_commit(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    else {
        print_list("discharged", res->discharged_ids);
    }
    print_summary(ro, res);
    return res->errors->nelts > 0 ? ADMIN_PARTIAL : ADMIN_OK;
}

int admin_cmd_clients_sync(admin_db *db, const admin_options *o)
{
    pm_roster_options ro;
    pm_roster_result res;
    input_file in;
    pm_charset_reader *converted = NULL;
    apr_status_t rv;
    int rc;

    memset(&ro, 0, sizeof(ro));
    if ((rc = pick_format(o, &ro.format)) != ADMIN_OK || (rc = admin_check_encoding(o)) != ADMIN_OK) {
        return rc;
    }
    if (o->encoding && ro.format == PM_ROSTER_FHIR) {
        admin_error("--encoding applies to CSV only (JSON is UTF-8)");
        return ADMIN_USAGE;
    }
    if (ro.format == PM_ROSTER_CSV && o->identifier_system) {
        admin_error("--identifier-system applies to --format fhir only");
        return ADMIN_USAGE;
    }
    if (o->allow_mass_discharge && !o->discharge_missing) {
        admin_error("--allow-mass-discharge goes with --discharge-missing");
        return ADMIN_USAGE;
    }
    ro.identifier_system = o->identifier_system;
    ro.discharge_missing = o->discharge_missing;
    ro.allow_mass_discharge = o->allow_mass_discharge;
    ro.allow_mass_name = "--allow-mass-discharge";
    ro.skip_invalid = o->skip_invalid;
    ro.actor = "sync";
    ro.sorted_keys = 1;
    ro.now = admin_now();
    if (open_input(db->pool, o->args[0], &in) != ADMIN_OK
        || admin_db_locale(db, &ro.locale) != ADMIN_OK
        || admin_db_language(db, &ro.language) != ADMIN_OK
        || pm_roster_disables_accounts(db->exec, &ro.disable_accounts) != APR_SUCCESS
        || admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (o->encoding && !pm_charset_is_utf8(o->encoding)) {
        converted = pm_charset_reader_make(db->pool, o->encoding, read_file, &in);
    }
    rv = converted ? pm_roster_apply(db->exec, db->pool, &ro, pm_charset_read, converted, &res)
                   : pm_roster_apply(db->exec, db->pool, &ro, read_file, &in, &res);
    if (rv != APR_SUCCESS) {
        admin_db_rollback(db);
        if (in.rv != APR_SUCCESS || rv == PM_CHARSET_IS_UTF8) {
            admin_read_error(o, o->args[0], in.rv != APR_SUCCESS ? in.rv : rv);
        }
        admin_error("the sync stopped on an error; nothing was changed");
        return ADMIN_FAIL;
    }
    return report_sync(db, o, &ro, &res);
}

/* ---- staff sync-caseloads --------------------------------------------------------- */

typedef struct {
    admin_db *db;
    const char *file;
    apr_hash_t *caseloads;   /* username → apr_hash_t of client id → chart number */
    apr_hash_t *discharged;  /* client id → "": the file's discharged clients */
    int bad;
    int nblank;              /* empty header cells after the two (a spreadsheet's) */
} caseload_file;

/* What settling the caseloads did (or, in a dry run, would do). */
typedef struct {
    int granted, revoked, unchanged, discharged;  /* discharged: of the granted */
    apr_array_header_t *grants, *revokes;        /* "username external_id" */
    admin_trail *trail;                          /* staff.grant, staff.revoke rows */
} caseload_counts;

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

/* A user name that is no staff member's; when one differs only by case (an EHR's
 * user IDs are upper case), that one is named: staff user names are compared
 * exactly, as Apache hands them to the module, so the file must spell them so. */
static int no_staff_member(caseload_file *cf, unsigned int line, const char *user)
{
    apr_array_header_t *rows;
    const char *same;

    if (pm_db_select(cf->db->exec, PM_SQL_ADMIN_STAFF_ANY_CASE, &rows, user) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if ((same = pm_row_str(pm_first_row(rows), 0)) != NULL) {
        caseload_problem(cf, line, "no staff member '%s'; staff member '%s' differs only by "
                         "case (user names are case-sensitive: write it as '%s')", user, same,
                         same);
    }
    else {
        caseload_problem(cf, line, "no staff member '%s'", user);
    }
    return ADMIN_OK;
}

/* One row: a known staff member and a known chart number. */
static int caseload_row(caseload_file *cf, const pm_csv_record *rec)
{
    apr_pool_t *p = cf->db->pool;
    apr_array_header_t *rows;
    apr_hash_t *set;
    const char *user, *chart, *id, *why;
    apr_size_t len;

    if ((why = pm_csv_took_lines(p, rec)) != NULL) {
        caseload_problem(cf, rec->line, "%s", why);
        return ADMIN_OK;
    }
    if (!pm_csv_fits_header(rec, 2, cf->nblank)) {
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
            return no_staff_member(cf, rec->line, user);
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
    if (pm_row_int(pm_first_row(rows), ROSTER_ACTIVE, 1) == 0) {
        apr_hash_set(cf->discharged, id, APR_HASH_KEY_STRING, "");
    }
    apr_hash_set(set, id, APR_HASH_KEY_STRING, chart);
    return ADMIN_OK;
}

/* The header as the clients' CSV takes it (pm_csv_header_name: any case, blanks
 * around a name; a UTF-8 byte-order mark is pm_csv's), then empty cells. */
static int read_caseload_header(caseload_file *cf, const pm_csv_record *rec)
{
    static const char *const names[] = { "username", "external_id", NULL };
    int i;

    if (rec->nfields < 2 || pm_csv_header_name(&rec->fields[0], names) != 0
        || pm_csv_header_name(&rec->fields[1], names) != 1) {
        return 0;
    }
    for (i = 2; i < rec->nfields; i++) {
        if (pm_csv_header_name(&rec->fields[i], names) != -2) {
            return 0;
        }
    }
    cf->nblank = rec->nfields - 2;
    return 1;
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
            if (!read_caseload_header(cf, &rec)) {
                caseload_problem(cf, rec.line, "the header must be " CASELOAD_HEADER " (any "
                                 "case; empty columns after it are ignored)");
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

/* "username external_id" for a dry run's list (a grant made by hand may name a
 * client without a chart number: its id then). */
static void note_pair(apr_pool_t *p, apr_array_header_t *list, const char *user,
                      const char *chart, const char *id)
{
    APR_ARRAY_PUSH(list, const char *) = chart ? apr_pstrcat(p, user, " ", chart, NULL)
        : apr_psprintf(p, "%s (client id %s, no chart number)", user, id);
}

/* staff.grant or staff.revoke {staff, caseload_sync: true} for one client */
static void audit_grant(caseload_counts *n, const char *action, const char *user,
                        const char *id)
{
    admin_trail_add(n->trail, action, id,
                    json_pack("{s:s,s:b}", "staff", user, "caseload_sync", 1));
}

/* The grants of user that the file does not name are removed. */
static int revoke_others(caseload_file *cf, const char *user, apr_hash_t *want,
                         apr_hash_t *have, caseload_counts *n)
{
    admin_db *db = cf->db;
    apr_array_header_t *rows;
    int i;

    if (pm_db_select(db->exec, PM_SQL_ADMIN_CASELOAD, &rows, user) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        const char *id = pm_row_str(r, CASELOAD_CLIENT_ID);

        apr_hash_set(have, id, APR_HASH_KEY_STRING, "");
        if (apr_hash_get(want, id, APR_HASH_KEY_STRING)) {
            n->unchanged++;
            continue;
        }
        if (pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_DELETE, NULL, user, id) != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
        n->revoked++;
        audit_grant(n, "staff.revoke", user, id);
        note_pair(db->pool, n->revokes, user, pm_row_str(r, CASELOAD_EXTERNAL_ID), id);
    }
    return ADMIN_OK;
}

/* One staff member's grants become exactly want. */
static int settle_caseload(caseload_file *cf, const char *user, apr_hash_t *want,
                           caseload_counts *n)
{
    admin_db *db = cf->db;
    apr_hash_t *have = apr_hash_make(db->pool);
    apr_hash_index_t *hi;

    if (revoke_others(cf, user, want, have, n) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    for (hi = apr_hash_first(db->pool, want); hi; hi = apr_hash_next(hi)) {
        const char *id = apr_hash_this_key(hi);

        if (apr_hash_get(have, id, APR_HASH_KEY_STRING) == NULL) {
            if (pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_INSERT, NULL, user, id) != APR_SUCCESS) {
                return ADMIN_FAIL;
            }
            n->granted++;
            audit_grant(n, "staff.grant", user, id);
            n->discharged += apr_hash_get(cf->discharged, id, APR_HASH_KEY_STRING) != NULL;
            note_pair(db->pool, n->grants, user, apr_hash_this_val(hi), id);
        }
    }
    return ADMIN_OK;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The counts; a dry run first lists the pairs (sorted). Discharged clients are granted all
 * the same (the EHR's caseload is the record, and a readmission finds it), but said. */
static void report_caseloads(const admin_options *o, const caseload_counts *n)
{
    if (o->dry_run) {
        qsort(n->grants->elts, (size_t)n->grants->nelts, sizeof(const char *), compare_text);
        qsort(n->revokes->elts, (size_t)n->revokes->nelts, sizeof(const char *), compare_text);
        print_list("would grant", n->grants);
        print_list("would revoke", n->revokes);
        printf("dry run: nothing was changed\n");
    }
    if (n->discharged > 0) {
        printf("note: %d of the %s clients %s discharged (kept in the caseload for a "
               "readmission; they are in no client list meanwhile)\n", n->discharged,
               o->dry_run ? "would-be granted" : "granted", n->discharged == 1 ? "is" : "are");
    }
    printf("granted %d, revoked %d, unchanged %d\n", n->granted, n->revoked, n->unchanged);
}

/* The rows gathered and a staff.caseload_sync {granted, revoked, unchanged} summary,
 * appended together at the end (the chain's head stays locked from the append to the
 * commit, as for clients sync). */
static int write_caseload_audit(admin_db *db, caseload_counts *n)
{
    admin_trail_add(n->trail, "staff.caseload_sync", NULL,
                    json_pack("{s:i,s:i,s:i}", "granted", n->granted, "revoked", n->revoked,
                              "unchanged", n->unchanged));
    return admin_trail_write(db, n->trail);
}

/* PostgreSQL: the roster syncs' turn (PM_SQL_ROSTER_LOCK), before anything is read:
 * two caseload syncs granting the same client at once both found no grant, and the
 * second broke staff_clients' key (nothing changed, but a failed night). SQLite's
 * write lock, taken at BEGIN, is the turn there. */
static int take_sync_turn(admin_db *db)
{
    apr_array_header_t *rows;

    return !pm_db_is_pgsql(db->exec)
           || pm_db_select(db->exec, PM_SQL_ROSTER_LOCK, &rows) == APR_SUCCESS
           ? ADMIN_OK : ADMIN_FAIL;
}

int admin_cmd_staff_sync_caseloads(admin_db *db, const admin_options *o)
{
    caseload_file cf = { db, o->args[0], apr_hash_make(db->pool), apr_hash_make(db->pool), 0, 0 };
    caseload_counts n;
    apr_hash_index_t *hi;
    apr_status_t rv;
    apr_size_t len;
    char *buf, msg[256];

    memset(&n, 0, sizeof(n));
    n.grants = apr_array_make(db->pool, 8, sizeof(const char *));
    n.revokes = apr_array_make(db->pool, 8, sizeof(const char *));
    n.trail = admin_trail_make(db->pool);
    if ((rv = admin_read_file(db->pool, cf.file, &buf, &len)) != APR_SUCCESS) {
        admin_error("cannot read %s: %s", cf.file, apr_strerror(rv, msg, sizeof(msg)));
        return ADMIN_FAIL;
    }
    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (take_sync_turn(db) != ADMIN_OK || read_caseloads(&cf, buf, len) != ADMIN_OK) {
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
        if (settle_caseload(&cf, apr_hash_this_key(hi), apr_hash_this_val(hi), &n)
            != ADMIN_OK) {
            admin_db_rollback(db);
            return ADMIN_FAIL;
        }
    }
    if (o->dry_run) {
        admin_db_rollback(db);
    }
    else if (write_caseload_audit(db, &n) != ADMIN_OK || admin_db_commit(db) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    report_caseloads(o, &n);
    return ADMIN_OK;
}

/* ---- clients set-chart ---------------------------------------------------------------- */

/* NULL when s can be a chart number: what the sync takes (trimmed UTF-8 text without
 * control characters, 1-100 characters). */
static const char *chart_problem(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ') {
        return "must not be empty or start or end with a space";
    }
    if (!pm_utf8_valid(s, len, 0)) {
        return "is not valid UTF-8 or contains control characters";
    }
    if (pm_utf8_length(s) > 100) {
        return "is longer than 100 characters";
    }
    return NULL;
}

/* Who has the chart number: 1 nobody, 0 this client already (nothing to do), -1
 * another client (reported) or a database error; *rc the command's exit status. */
static int chart_owner(admin_db *db, const char *id, const char *chart, int *rc)
{
    apr_array_header_t *rows;
    const char *owner;

    *rc = ADMIN_OK;
    if (pm_db_select(db->exec, PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID, &rows, chart)
        != APR_SUCCESS) {
        *rc = ADMIN_FAIL;
        return -1;
    }
    if ((owner = pm_row_str(pm_first_row(rows), ROSTER_ID)) == NULL) {
        return 1;
    }
    if (strcmp(owner, id) == 0) {
        return 0;
    }
    admin_error("chart number '%s' is client %s's already; nothing was changed", chart, owner);
    *rc = ADMIN_FAIL;
    return -1;
}

/* A transaction begun on client id, which exists (else said, rolled back: ADMIN_FAIL);
 * *had: whether it has a chart number. */
static int begin_on_client(admin_db *db, const char *id, int *had)
{
    int found;

    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (admin_db_count(db, PM_SQL_ADMIN_CLIENT_EXISTS, &found, id, NULL) != ADMIN_OK
        || (found && admin_db_count(db, PM_SQL_ADMIN_CLIENT_HAS_CHART, had, id, NULL)
                     != ADMIN_OK)) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    if (!found) {
        admin_db_rollback(db);
        admin_error("unknown client id %s (see 'clients list')", id);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* The client's chart number set (NULL: taken away), audited as client.chart_number
 * with detail (never the number), committed. */
static int store_chart(admin_db *db, const char *id, const char *chart, json_t *detail)
{
    admin_trail *t = admin_trail_make(db->pool);

    admin_trail_add(t, "client.chart_number", id, detail);
    if (pm_db_exec(db->exec, PM_SQL_ADMIN_CLIENT_SET_CHART, NULL, chart,
                   pm_arg_int(db->pool, admin_now()), id) != APR_SUCCESS
        || admin_trail_write(db, t) != ADMIN_OK
        || admin_db_commit(db) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* clients set-chart CLIENT_ID EXTERNAL_ID: what a sync cannot decide (two clients
 * without a chart number with the same name and date of birth) settled by hand. */
int admin_cmd_clients_set_chart(admin_db *db, const admin_options *o)
{
    const char *id = admin_parse_client_id(db->pool, o->args[0]), *chart = o->args[1];
    const char *problem;
    int had = 0, owner, rc;

    if (id == NULL) {
        admin_error("client id '%s' is not a positive whole number", o->args[0]);
        return ADMIN_FAIL;
    }
    if ((problem = chart_problem(chart)) != NULL) {
        admin_error("chart number '%s' %s", chart, problem);
        return ADMIN_FAIL;
    }
    if (begin_on_client(db, id, &had) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if ((owner = chart_owner(db, id, chart, &rc)) <= 0) {
        admin_db_rollback(db);
        if (owner == 0) {
            printf("client %s has chart number %s already; nothing to do\n", id, chart);
        }
        return rc;
    }
    if (store_chart(db, id, chart, json_pack("{s:b}", "replaced", had != 0)) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("client %s now has chart number %s\n", id, chart);
    return ADMIN_OK;
}

/* clients clear-chart CLIENT_ID: the repair of a wrong chart number (a duplicate a
 * sync added under the EHR's new number frees it for the real client's set-chart). */
int admin_cmd_clients_clear_chart(admin_db *db, const admin_options *o)
{
    const char *id = admin_parse_client_id(db->pool, o->args[0]);
    int had = 0;

    if (id == NULL) {
        admin_error("client id '%s' is not a positive whole number", o->args[0]);
        return ADMIN_FAIL;
    }
    if (begin_on_client(db, id, &had) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (!had) {
        admin_db_rollback(db);
        printf("client %s has no chart number; nothing to do\n", id);
        return ADMIN_OK;
    }
    if (store_chart(db, id, NULL, json_pack("{s:b,s:b}", "replaced", 1, "cleared", 1))
        != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("client %s has no chart number now\n", id);
    return ADMIN_OK;
}
