/* admin_audit.c — the audit trail's upkeep: `audit verify` walks the hash chain
 * (pm_audit_chain.c) and checks it against heads kept outside the database (--anchor,
 * the error log's PM00625 lines); `audit export` writes the rows older than a day to a file;
 * `audit prune` removes exactly those rows once the file checks out, keeping the
 * last one's hash as the chain's anchor. */
#include "admin.h"
#include "pm_audit_chain.h"
#include "pm_date.h"
#include "pm_settings_def.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_FORMAT 1
#define ROW_PAGE 1000
#define LINE_MAX_BYTES (1024 * 1024)

/* an exported row's members, in PM_COLS_CHAIN_ROW's order */
static const char *const ROW_KEYS[] = {
    "id", "chain_seq", "row_hash", "at", "username", "action", "client_id", "object_id",
    "result", "detail", "remote_ip", "request_id"
};
#define NKEYS ((int)(sizeof(ROW_KEYS) / sizeof(ROW_KEYS[0])))

/* what the anchors given came to */
typedef struct {
    int held, pruned;
} anchor_count;

static int print_finding(const pm_audit_chain_report *r, const anchor_count *a)
{
    if (r->problem == NULL) {
        printf("ok: %lld %s", r->rows, r->rows == 1 ? "row" : "rows");
        if (r->pre_chain > 0) {
            printf(" (and %lld older rows from before the chain, without hashes)", r->pre_chain);
        }
        if (r->anchor_seq > 0) {
            printf(", from the anchor at chain place %lld", r->anchor_seq);
        }
        printf("; head %s", r->head_hash);
        if (a->held + a->pruned > 0) {
            printf("; anchors: %d held", a->held);
            if (a->pruned > 0) {
                printf(", %d before the prune's anchor (not checked)", a->pruned);
            }
        }
        printf("\n");
        return ADMIN_OK;
    }
    if (r->bad_id > 0) {
        printf("audit row %lld: %s\n", r->bad_id, r->problem);
    }
    else {
        printf("audit trail: %s\n", r->problem);
    }
    return ADMIN_FAIL;
}

/* ---- anchors: heads kept outside the database ------------------------------------------ */

typedef struct {
    long long seq;
    const char *hash;
} anchor;

/* "SEQ:HASH" or the "seq N, hash H" of a PM00625 line: a place and 64 hex digits */
static int parse_anchor(apr_pool_t *p, const char *seq_text, const char *sep,
                        const char *hash_text, anchor *out)
{
    char *end;
    size_t n = strspn(hash_text, "0123456789abcdef");
    long long seq = strtoll(seq_text, &end, 10);

    if (end == seq_text || seq < 0 || strncmp(end, sep, strlen(sep)) != 0
        || end + strlen(sep) != hash_text || n != 64
        || (hash_text[n] != '\0' && hash_text[n] != '\n' && hash_text[n] != '\r'
            && hash_text[n] != ' ')) {
        return 0;
    }
    out->seq = seq;
    out->hash = apr_pstrndup(p, hash_text, 64);
    return 1;
}

static int option_anchors(apr_pool_t *p, const admin_options *o, apr_array_header_t *all)
{
    int i;

    for (i = 0; o->anchors && i < o->anchors->nelts; i++) {
        const char *text = APR_ARRAY_IDX(o->anchors, i, const char *);
        const char *colon = strchr(text, ':');
        anchor *a = apr_array_push(all);
        if (colon == NULL || !parse_anchor(p, text, ":", colon + 1, a)) {
            admin_error("--anchor %s: expected SEQ:HASH (a chain place, 64 hex digits)", text);
            return ADMIN_USAGE;
        }
    }
    return ADMIN_OK;
}

/* Every "audit chain head: seq N, hash H" line of an error log (PM00625) */
#define HEAD_LINE "audit chain head: seq "

static int file_anchors(apr_pool_t *p, const char *path, apr_array_header_t *all)
{
    apr_file_t *f;
    char *line = apr_palloc(p, LINE_MAX_BYTES);
    int before = all->nelts;

    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED, 0, p) != APR_SUCCESS) {
        admin_error("cannot read %s", path);
        return ADMIN_FAIL;
    }
    while (apr_file_gets(line, LINE_MAX_BYTES, f) == APR_SUCCESS) {
        const char *at = strstr(line, HEAD_LINE), *comma;
        anchor a;
        if (at && (comma = strstr(at, ", hash ")) != NULL
            && parse_anchor(p, at + strlen(HEAD_LINE), ", hash ", comma + 7, &a)) {
            *(anchor *)apr_array_push(all) = a;
        }
    }
    apr_file_close(f);
    if (all->nelts == before) {
        admin_error("%s holds no \"" HEAD_LINE "N, hash H\" line (PM00625); nothing verified",
                    path);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* Each anchor against the verified chain; the first that does not hold is the finding. */
static int check_anchors(admin_db *db, pm_audit_chain_report *r, const apr_array_header_t *all,
                         anchor_count *c)
{
    int i;

    for (i = 0; i < all->nelts && r->problem == NULL; i++) {
        const anchor *a = &APR_ARRAY_IDX(all, i, anchor);
        switch (pm_audit_chain_check_anchor(db->exec, db->pool, r, a->seq, a->hash,
                                            &r->problem)) {
        case PM_ANCHOR_HELD:
            c->held++;
            break;
        case PM_ANCHOR_PRUNED:
            c->pruned++;
            break;
        case PM_ANCHOR_BROKEN:
            break;
        default:
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

static int audit_verify(admin_db *db, const admin_options *o)
{
    pm_audit_chain_report r;
    apr_array_header_t *all = apr_array_make(db->pool, 16, sizeof(anchor));
    anchor_count c = { 0, 0 };
    int rc;

    if ((rc = option_anchors(db->pool, o, all)) != ADMIN_OK
        || (o->anchors_from && (rc = file_anchors(db->pool, o->anchors_from, all)) != ADMIN_OK)) {
        return rc;
    }
    if (pm_audit_chain_verify(db->exec, db->pool, &r) != APR_SUCCESS
        || (r.problem == NULL && check_anchors(db, &r, all, &c) != ADMIN_OK)
        || (r.problem == NULL
            && pm_audit_chain_check_guards(db->exec, db->pool, &r.problem) != APR_SUCCESS)) {
        return ADMIN_FAIL;
    }
    return print_finding(&r, &c);
}

/* ---- what export and prune cover ------------------------------------------------------ */

typedef struct {
    long long before;            /* --before's day, 00:00 UTC, in seconds */
    long long anchor, upto;      /* chain places anchor+1 .. upto */
    const char *anchor_hash;
    long long pre_max;           /* rows from before the chain have ids up to this */
    apr_array_header_t *pre;     /* those older than the day (pm_row, PM_COLS_CHAIN_ROW) */
} audit_span;

static int before_time(const admin_options *o, long long *t)
{
    apr_time_exp_t e;
    apr_time_t at;
    const char *why;

    if (o->before == NULL) {
        admin_error("--before YYYY-MM-DD is required");
        return ADMIN_USAGE;
    }
    if ((why = pm_birth_date_problem(o->before, apr_time_now())) != NULL) {
        admin_error("--before %s %s", o->before, why);
        return ADMIN_USAGE;
    }
    memset(&e, 0, sizeof(e));
    e.tm_year = atoi(o->before) - 1900;
    e.tm_mon = atoi(o->before + 5) - 1;
    e.tm_mday = atoi(o->before + 8);
    if (apr_time_exp_gmt_get(&at, &e) != APR_SUCCESS) {
        return ADMIN_USAGE;
    }
    *t = apr_time_sec(at);
    return ADMIN_OK;
}

/* The rows older than the day: those from before the chain, and the chain's longest
 * beginning whose rows all are. Only on a chain that verifies. */
static int plan_span(admin_db *db, audit_span *sp)
{
    pm_audit_chain_report r;
    apr_array_header_t *rows;
    const pm_row *st;
    apr_pool_t *p = db->pool;
    const char *head;

    if (pm_audit_chain_verify(db->exec, p, &r) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (r.problem) {
        admin_error("the audit trail does not verify (run audit verify); nothing done");
        return ADMIN_FAIL;
    }
    if (pm_db_select(db->exec, PM_SQL_ADMIN_AUDIT_CHAIN_STATE, &rows) != APR_SUCCESS
        || (st = pm_first_row(rows)) == NULL) {
        return ADMIN_FAIL;
    }
    sp->anchor = pm_row_int(st, CHAIN_STATE_ANCHOR_SEQ, 0);
    sp->anchor_hash = pm_row_str(st, CHAIN_STATE_ANCHOR_HASH);
    sp->pre_max = pm_row_int(st, CHAIN_STATE_PRE_MAX, 0);
    head = pm_row_str(st, CHAIN_STATE_SEQ);
    if (pm_db_select(db->exec, PM_SQL_ADMIN_AUDIT_PREFIX_END, &rows, pm_arg_int(p, sp->anchor),
                     head, pm_arg_int(p, sp->before), head) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    sp->upto = pm_row_int(pm_first_row(rows), COUNT_N, sp->anchor);
    return pm_db_select(db->exec, PM_SQL_ADMIN_AUDIT_PRE_CHAIN_OLDER, &sp->pre,
                        pm_arg_int(p, sp->pre_max), pm_arg_int(p, sp->before)) == APR_SUCCESS
           ? ADMIN_OK : ADMIN_FAIL;
}

/* ---- export ------------------------------------------------------------------------------ */

static json_t *row_json(const pm_row *row)
{
    json_t *o = json_object();
    int k;

    for (k = 0; k < NKEYS; k++) {
        const char *v = pm_row_str(row, k);
        json_object_set_new(o, ROW_KEYS[k], v ? json_string(v) : json_null());
    }
    return o;
}

static int write_json_line(apr_file_t *f, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    apr_status_t rv = text ? apr_file_puts(text, f) : APR_ENOMEM;

    free(text);
    json_decref(o);
    return rv == APR_SUCCESS && apr_file_putc('\n', f) == APR_SUCCESS ? ADMIN_OK : ADMIN_FAIL;
}

/* The chain rows anchor+1 .. upto, a page at a time; *last gets upto's hash. */
static int write_chain_rows(admin_db *db, apr_file_t *f, const audit_span *sp, const char **last)
{
    apr_array_header_t *rows;
    apr_pool_t *page;
    long long at = sp->anchor;
    int i, rc = ADMIN_OK;

    apr_pool_create(&page, db->pool);
    while (rc == ADMIN_OK && at < sp->upto) {
        apr_pool_clear(page);
        pm_db_use_pool(db->exec, page);
        if (pm_db_select(db->exec, PM_SQL_ADMIN_AUDIT_CHAIN_PAGE, &rows, pm_arg_int(page, at),
                         pm_arg_int(page, sp->upto), pm_arg_int(page, ROW_PAGE)) != APR_SUCCESS
            || rows->nelts == 0) {
            rc = ADMIN_FAIL;
        }
        for (i = 0; rc == ADMIN_OK && i < rows->nelts; i++) {
            const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
            rc = write_json_line(f, row_json(row));
            at = pm_row_int(row, CHAIN_ROW_SEQ, at);
            *last = apr_pstrdup(db->pool, pm_row_str(row, CHAIN_ROW_HASH));
        }
    }
    pm_db_use_pool(db->exec, NULL);
    return rc;
}

static json_t *header_json(const admin_options *o, const audit_span *sp, const char *last)
{
    return json_pack("{s:i, s:s, s:I, s:s, s:I, s:s, s:I, s:I}", "pm_audit_export", EXPORT_FORMAT,
                     "before", o->before, "anchor_seq", (json_int_t)sp->anchor,
                     "anchor_hash", sp->anchor_hash, "last_seq", (json_int_t)sp->upto,
                     "last_hash", last, "pre_chain_rows", (json_int_t)sp->pre->nelts,
                     "chain_rows", (json_int_t)(sp->upto - sp->anchor));
}

/* The rows, then one summary line (it carries the last hash, known only after the
 * rows). The file is the admin's to keep: it is PHI, created 0600. */
static int audit_export(admin_db *db, const admin_options *o, const audit_span *sp)
{
    apr_file_t *f;
    const char *path = o->args[0], *last = sp->anchor_hash;
    int i, rc;

    if (apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL
                      | APR_FOPEN_BUFFERED, APR_FPROT_UREAD | APR_FPROT_UWRITE, db->pool)
        != APR_SUCCESS) {
        admin_error("cannot create %s (it must not exist yet)", path);
        return ADMIN_FAIL;
    }
    rc = ADMIN_OK;
    for (i = 0; rc == ADMIN_OK && i < sp->pre->nelts; i++) {
        rc = write_json_line(f, row_json(&APR_ARRAY_IDX(sp->pre, i, pm_row)));
    }
    if (rc == ADMIN_OK) {
        rc = write_chain_rows(db, f, sp, &last);
    }
    if (rc == ADMIN_OK) {
        rc = write_json_line(f, header_json(o, sp, last));
    }
    if (apr_file_close(f) != APR_SUCCESS || rc != ADMIN_OK) {
        apr_file_remove(path, db->pool);
        admin_error("could not write %s; nothing exported", path);
        return ADMIN_FAIL;
    }
    printf("exported %d rows from before the chain and %lld chain rows (places %lld-%lld) "
           "older than %s to %s; last hash %s\n", sp->pre->nelts, sp->upto - sp->anchor,
           sp->anchor + 1, sp->upto, o->before, path, last);
    return ADMIN_OK;
}

/* ---- prune ------------------------------------------------------------------------------- */

/* The setting audit_retention_days (its default when never set). */
static int retention_days(admin_db *db, long long *days)
{
    const char *v;

    if (pm_setting_stored(db->exec, "audit_retention_days", &v) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    *days = v ? atoll(v) : pm_setting_find("audit_retention_days")->int_default;
    return ADMIN_OK;
}

typedef struct {
    json_t *header;
    long long pre_rows, chain_rows;
    const char *last;             /* the chain rows' last hash, recomputed */
} export_file;

static const char *member(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* One row of the file: a row from before the chain must equal the database's; a
 * chain row must hash to its own hash from its predecessor's. */
static const char *check_file_row(apr_pool_t *p, const audit_span *sp, export_file *ef,
                                  json_t *row)
{
    const char *fields[PM_AUDIT_FIELDS];
    int k;

    if (member(row, "chain_seq") == NULL) {
        const pm_row *db_row;
        if (ef->pre_rows >= sp->pre->nelts) {
            return "more rows from before the chain than the database has";
        }
        db_row = &APR_ARRAY_IDX(sp->pre, ef->pre_rows, pm_row);
        for (k = 0; k < NKEYS; k++) {
            const char *a = member(row, ROW_KEYS[k]), *b = pm_row_str(db_row, k);
            if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0)) {
                return "a row from before the chain differs from the database's";
            }
        }
        ef->pre_rows++;
        return NULL;
    }
    for (k = 0; k < PM_AUDIT_FIELDS; k++) {
        fields[k] = member(row, ROW_KEYS[3 + k]);
    }
    ef->chain_rows++;
    if (atoll(member(row, "chain_seq")) != sp->anchor + ef->chain_rows
        || strcmp(pm_audit_chain_hash(p, ef->last, sp->anchor + ef->chain_rows, fields),
                  member(row, "row_hash") ? member(row, "row_hash") : "") != 0) {
        return "a chain row does not follow from the one before it";
    }
    ef->last = apr_pstrdup(p, member(row, "row_hash"));
    return NULL;
}

static int read_export(admin_db *db, const char *path, const audit_span *sp, export_file *ef)
{
    apr_file_t *f;
    char *line = apr_palloc(db->pool, LINE_MAX_BYTES);
    const char *why = NULL;
    json_t *row;

    memset(ef, 0, sizeof(*ef));
    ef->last = sp->anchor_hash;
    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED, 0, db->pool) != APR_SUCCESS) {
        admin_error("cannot read %s", path);
        return ADMIN_FAIL;
    }
    while (why == NULL && apr_file_gets(line, LINE_MAX_BYTES, f) == APR_SUCCESS) {
        if ((row = json_loads(line, 0, NULL)) == NULL || !json_is_object(row)) {
            why = "a line is not a JSON object";
        }
        else if (json_object_get(row, "pm_audit_export")) {
            ef->header = json_incref(row);
        }
        else if (ef->header) {
            why = "rows after the last line";
        }
        else {
            why = check_file_row(db->pool, sp, ef, row);
        }
        json_decref(row);
    }
    apr_file_close(f);
    if (why || ef->header == NULL) {
        admin_error("%s is not this database's export: %s; nothing pruned", path,
                    why ? why : "no last line (an export ends with its summary)");
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* The file covers exactly what the database would prune now. */
static int export_matches(const admin_options *o, const audit_span *sp, const export_file *ef)
{
    json_t *h = ef->header;

    if (member(h, "before") == NULL || strcmp(member(h, "before"), o->before) != 0
        || json_integer_value(json_object_get(h, "anchor_seq")) != sp->anchor
        || json_integer_value(json_object_get(h, "last_seq")) != sp->upto
        || ef->pre_rows != sp->pre->nelts || ef->chain_rows != sp->upto - sp->anchor
        || member(h, "last_hash") == NULL || strcmp(member(h, "last_hash"), ef->last) != 0) {
        admin_error("%s does not hold exactly the rows older than %s that the database has "
                    "(export again); nothing pruned", o->args[0], o->before);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* The database's own hash at the last place: with the chain verified, equal hashes
 * mean equal rows all the way back to the anchor. */
static int last_hash_matches(admin_db *db, const audit_span *sp, const char *last)
{
    apr_array_header_t *rows;

    if (sp->upto == sp->anchor) {
        return ADMIN_OK;
    }
    if (pm_db_select(db->exec, PM_SQL_ADMIN_AUDIT_CHAIN_PAGE, &rows,
                     pm_arg_int(db->pool, sp->upto - 1), pm_arg_int(db->pool, sp->upto),
                     pm_arg_int(db->pool, 1)) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (pm_first_row(rows) == NULL
        || strcmp(pm_row_str(pm_first_row(rows), CHAIN_ROW_HASH), last) != 0) {
        admin_error("the export's rows are not the database's; nothing pruned");
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

static int remove_span(admin_db *db, const audit_span *sp, const char *last, const char *day)
{
    apr_pool_t *p = db->pool;
    int opened = 0, deleted = 0;
    long long want = sp->upto - sp->anchor + sp->pre->nelts;
    const char *row[PM_AUDIT_FIELDS] = {
        pm_arg_int(p, admin_now()), "portal-manager-admin", "audit.prune", NULL, NULL, "ok",
        apr_psprintf(p, "{\"rows\":%" APR_INT64_T_FMT ",\"before\":\"%s\",\"anchor_seq\":%"
                     APR_INT64_T_FMT "}", (apr_int64_t)want, day, (apr_int64_t)sp->upto),
        NULL, NULL
    };
    const char *const *rows[1] = { row };

    if (admin_db_begin(db) != ADMIN_OK
        || pm_db_exec(db->exec, PM_SQL_ADMIN_AUDIT_PRUNE_OPEN, &opened, pm_arg_int(p, sp->upto),
                      pm_arg_int(p, sp->anchor)) != APR_SUCCESS || opened != 1
        || pm_db_exec(db->exec, PM_SQL_ADMIN_AUDIT_PRUNE_DELETE, &deleted,
                      pm_arg_int(p, sp->anchor), pm_arg_int(p, sp->upto),
                      pm_arg_int(p, sp->pre_max), pm_arg_int(p, sp->before)) != APR_SUCCESS
        || deleted != want
        || pm_db_exec(db->exec, PM_SQL_ADMIN_AUDIT_PRUNE_CLOSE, NULL, pm_arg_int(p, sp->upto),
                      last, pm_arg_int(p, sp->pre->nelts)) != APR_SUCCESS
        || pm_audit_chain_append(db->exec, p, rows, 1) != APR_SUCCESS
        || admin_db_commit(db) != ADMIN_OK) {
        admin_db_rollback(db);
        admin_error("the prune did not complete (%d of %" APR_INT64_T_FMT " rows); nothing "
                    "pruned", deleted, (apr_int64_t)want);
        return ADMIN_FAIL;
    }
    printf("pruned %" APR_INT64_T_FMT " rows older than %s; the chain now starts after place %"
           APR_INT64_T_FMT " (anchor %s)\n", (apr_int64_t)want, day, (apr_int64_t)sp->upto, last);
    return ADMIN_OK;
}

static int audit_prune(admin_db *db, const admin_options *o, const audit_span *sp)
{
    export_file ef;
    long long days;
    int rc;

    if (retention_days(db, &days) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (sp->before > (long long)apr_time_sec(apr_time_now()) - days * 86400) {
        admin_error("%s is less than audit_retention_days (%lld) ago; nothing pruned",
                    o->before, days);
        return ADMIN_FAIL;
    }
    if (read_export(db, o->args[0], sp, &ef) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    rc = export_matches(o, sp, &ef) == ADMIN_OK && last_hash_matches(db, sp, ef.last) == ADMIN_OK
         ? remove_span(db, sp, ef.last, o->before) : ADMIN_FAIL;
    json_decref(ef.header);
    return rc;
}

int admin_cmd_audit(admin_db *db, const char *sub, const admin_options *o)
{
    audit_span sp;
    int rc;

    if (strcmp(sub, "verify") == 0) {
        return audit_verify(db, o);
    }
    memset(&sp, 0, sizeof(sp));
    if ((rc = before_time(o, &sp.before)) != ADMIN_OK || (rc = plan_span(db, &sp)) != ADMIN_OK) {
        return rc;
    }
    return strcmp(sub, "export") == 0 ? audit_export(db, o, &sp) : audit_prune(db, o, &sp);
}
