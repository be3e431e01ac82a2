/* pm_audit_chain.c — writes audit rows as links of one hash chain (each row's hash
 * covers its predecessor's hash and its own canonical content) and walks the chain
 * to find the first row that was edited, removed or added by hand. */
#include "pm_audit_chain.h"

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_PAGE 1000
#define GROUP_ROWS 50     /* rows per statement when a caller's transaction appends many */

const char pm_audit_chain_origin[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void digest_value(EVP_MD_CTX *md, apr_pool_t *p, const char *v)
{
    const char *len = v ? apr_psprintf(p, "%" APR_SIZE_T_FMT ":", strlen(v)) : "-";

    EVP_DigestUpdate(md, len, strlen(len));
    if (v) {
        EVP_DigestUpdate(md, v, strlen(v));
    }
    EVP_DigestUpdate(md, "\n", 1);
}

const char *pm_audit_chain_hash(apr_pool_t *p, const char *prev, long long seq,
                                const char *const *fields)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *hex;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    digest_value(md, p, "pm-audit-v1");
    digest_value(md, p, prev);
    digest_value(md, p, apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)seq));
    for (i = 0; i < PM_AUDIT_FIELDS; i++) {
        digest_value(md, p, fields[i]);
    }
    EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
    hex = apr_palloc(p, (apr_size_t)len * 2 + 1);
    for (i = 0; i < len; i++) {
        apr_snprintf(hex + i * 2, 3, "%02x", out[i]);
    }
    return hex;
}

static apr_status_t insert_linked(pm_db *db, apr_pool_t *p, const char *const *f,
                                  long long seq, const char *hash)
{
    return pm_db_exec(db, PM_SQL_AUDIT_INSERT, NULL, f[0], f[1], f[2], f[3], f[4], f[5], f[6],
                      f[7], f[8], pm_arg_int(p, seq), hash);
}

/* SQLite: read the head, write the rows into the next n places, move the head once
 * to the last of them. The caller's BEGIN took the database's write lock, so the head
 * cannot move between the read and the move (which checks it anyway). */
static apr_status_t append_rows(pm_db *db, apr_pool_t *p, const char *const *const *rows, int n)
{
    apr_array_header_t *head;
    const pm_row *h;
    const char *prev;
    long long first, seq;
    int i, moved = 0;

    if (pm_db_select(db, PM_SQL_AUDIT_CHAIN_HEAD, &head) != APR_SUCCESS
        || (h = pm_first_row(head)) == NULL) {
        return APR_EGENERAL;
    }
    first = pm_row_int(h, CHAIN_HEAD_SEQ, 0);
    prev = pm_row_str(h, CHAIN_HEAD_HASH);
    for (i = 0, seq = first + 1; i < n; i++, seq++) {
        if ((prev = pm_audit_chain_hash(p, prev, seq, rows[i])) == NULL
            || insert_linked(db, p, rows[i], seq, prev) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    if (pm_db_exec(db, PM_SQL_AUDIT_CHAIN_MOVE_SQLITE, &moved, pm_arg_int(p, first + n), prev,
                   pm_arg_int(p, first)) != APR_SUCCESS || moved != 1) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Each row by one statement: the nine values of a row, then the plain insert's
 * chain place and hash as NULL (PM_SQL_AUDIT_INSERT takes eleven; a statement that
 * takes nine reads no further). */
static apr_status_t exec_per_row(pm_db *db, pm_sql_id stmt, const char *const *const *rows,
                                 int n)
{
    const char *const *f;
    int i;

    for (i = 0; i < n; i++) {
        f = rows[i];
        if (pm_db_exec(db, stmt, NULL, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8],
                       NULL, NULL) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

/* The rows as PM_SQL_AUDIT_CHAIN_APPEND_GROUP_PGSQL takes them: a JSON array of
 * rows, each its nine values as strings or null. NULL when a value is not UTF-8
 * (PostgreSQL would refuse it as text anyway) or memory ran out. */
static const char *rows_json(apr_pool_t *p, const char *const *const *rows, int n)
{
    json_t *all = json_array(), *row;
    const char *out = NULL;
    char *text;
    int i, k, ok = all != NULL;

    for (i = 0; ok && i < n; i++) {
        ok = (row = json_array()) != NULL && json_array_append_new(all, row) == 0;
        for (k = 0; ok && k < PM_AUDIT_FIELDS; k++) {
            json_t *v = rows[i][k] ? json_string(rows[i][k]) : json_null();
            ok = v != NULL && json_array_append_new(row, v) == 0;
        }
    }
    if (ok && (text = json_dumps(all, JSON_COMPACT)) != NULL) {
        out = apr_pstrdup(p, text);
        free(text);
    }
    json_decref(all);
    return out;
}

/* PostgreSQL, in a caller's transaction (its commit makes the rows durable): a lone row
 * is one statement that advances the head and computes the row's hash in the database
 * (PM_SQL_AUDIT_CHAIN_APPEND_PGSQL); more go as groups of GROUP_ROWS, one statement
 * each (PM_SQL_AUDIT_CHAIN_APPEND_GROUP_TXN_PGSQL): a head updated once per row of a
 * long transaction slows down with every row (100,000 rows: many minutes), and one
 * group's walk grows with the square of its size. */
static apr_status_t append_rows_pgsql(pm_db *db, apr_pool_t *p, const char *const *const *rows,
                                      int n)
{
    apr_pool_t *slice;
    const char *json;
    apr_status_t rv = APR_SUCCESS;
    int i, k;

    if (n == 1) {
        return exec_per_row(db, PM_SQL_AUDIT_CHAIN_APPEND_PGSQL, rows, 1);
    }
    if (apr_pool_create(&slice, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; rv == APR_SUCCESS && i < n; i += k) {
        k = n - i < GROUP_ROWS ? n - i : GROUP_ROWS;
        rv = (json = rows_json(slice, rows + i, k)) == NULL ? APR_EGENERAL
             : pm_db_exec(db, PM_SQL_AUDIT_CHAIN_APPEND_GROUP_TXN_PGSQL, NULL, json);
        apr_pool_clear(slice);
    }
    apr_pool_destroy(slice);
    return rv;
}

/* PostgreSQL, the chain's own rows: a lone row by PM_SQL_AUDIT_CHAIN_APPEND_ASYNC_PGSQL,
 * a group by one statement (PM_SQL_AUDIT_CHAIN_APPEND_GROUP_PGSQL), each committed
 * without waiting for the disk, which lets the head go an fsync sooner; the caller's
 * flush_pgsql() then puts them on disk (the write-ahead log is flushed in order)
 * before anyone is answered. A group whose rows cannot be JSON (a value that is not
 * UTF-8, which PostgreSQL refuses as text too) fails as a whole, as one would. */
static apr_status_t append_own_pgsql(pm_db *db, apr_pool_t *p, const char *const *const *rows,
                                     int n)
{
    const char *json;

    if (n == 1) {
        return exec_per_row(db, PM_SQL_AUDIT_CHAIN_APPEND_ASYNC_PGSQL, rows, 1);
    }
    if ((json = rows_json(p, rows, n)) == NULL) {
        return APR_EGENERAL;
    }
    return pm_db_exec(db, PM_SQL_AUDIT_CHAIN_APPEND_GROUP_PGSQL, NULL, json);
}

static apr_status_t flush_pgsql(pm_db *db)
{
    return pm_db_exec(db, PM_SQL_AUDIT_FLUSH_PGSQL, NULL);
}

#ifdef PM_AUDIT_UNCHAINED
/* Built only by bench/audit-chain, as its baseline: the same module with audit
 * rows written plainly (no chain place, no hash), so the benchmark measures what
 * the chain costs and nothing else. Never built into what is installed. */
static apr_status_t append_unchained(pm_db *db, apr_pool_t *p, const char *const *const *rows,
                                     int n)
{
    return exec_per_row(db, PM_SQL_AUDIT_INSERT, rows, n);
}
#endif

typedef apr_status_t append_fn(pm_db *db, apr_pool_t *p, const char *const *const *rows, int n);

/* append, inside a transaction of its own when txn says so */
static apr_status_t append_in(pm_db *db, apr_pool_t *p, const char *const *const *rows, int n,
                              int txn, append_fn *append)
{
    apr_status_t rv;

    if (!txn) {
        return append(db, p, rows, n);
    }
    if (pm_db_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if ((rv = append(db, p, rows, n)) != APR_SUCCESS) {
        pm_db_rollback(db);
        return rv;
    }
    return pm_db_commit(db);
}

apr_status_t pm_audit_chain_append(pm_db *db, apr_pool_t *p, const char *const *const *rows,
                                   int n)
{
    int own = !pm_db_in_transaction(db);
    apr_status_t rv;

    if (n <= 0) {
        return APR_SUCCESS;
    }
#ifdef PM_AUDIT_UNCHAINED
    return append_in(db, p, rows, n, own && n > 1, append_unchained);   /* plain inserts */
#endif
    if (strcmp(pm_db_driver_name(db), "pgsql") != 0) {
        return append_in(db, p, rows, n, own, append_rows);   /* SQLite: its own or the caller's */
    }
    if (!own) {
        return append_rows_pgsql(db, p, rows, n);             /* the caller's commit */
    }
    rv = append_own_pgsql(db, p, rows, n);
    return rv == APR_SUCCESS ? flush_pgsql(db) : rv;
}

/* ---- verification ------------------------------------------------------------------- */

static int found(pm_audit_chain_report *r, const pm_row *row, const char *why)
{
    r->bad_id = row ? pm_row_int(row, CHAIN_ROW_ID, 0) : 0;
    r->problem = why;
    return 1;
}

/* One row in chain order: its place and its hash must follow from the last. */
static int check_row(apr_pool_t *p, pm_audit_chain_report *r, const pm_row *row,
                     long long *seq, const char **prev)
{
    const char *fields[PM_AUDIT_FIELDS];
    const char *want;
    int i;

    if (pm_row_int(row, CHAIN_ROW_SEQ, 0) != *seq + 1) {
        return found(r, row, apr_psprintf(p, "chain place %" APR_INT64_T_FMT " expected, %"
                                          APR_INT64_T_FMT " found: the row before it was "
                                          "removed", (apr_int64_t)(*seq + 1),
                                          (apr_int64_t)pm_row_int(row, CHAIN_ROW_SEQ, 0)));
    }
    for (i = 0; i < PM_AUDIT_FIELDS; i++) {
        fields[i] = pm_row_str(row, CHAIN_ROW_AT + i);
    }
    want = pm_audit_chain_hash(p, *prev, *seq + 1, fields);
    if (want == NULL || pm_row_str(row, CHAIN_ROW_HASH) == NULL
        || strcmp(want, pm_row_str(row, CHAIN_ROW_HASH)) != 0) {
        return found(r, row, "its content does not match its hash: the row was changed");
    }
    *seq += 1;
    *prev = pm_row_str(row, CHAIN_ROW_HASH);
    r->rows++;
    return 0;
}

/* Every chained row up to the head's place, a page at a time. */
static apr_status_t walk(pm_db *db, apr_pool_t *p, pm_audit_chain_report *r, long long upto,
                         long long *seq, const char **prev)
{
    apr_array_header_t *rows;
    apr_pool_t *page;
    int i;

    apr_pool_create(&page, p);
    do {
        apr_pool_clear(page);
        pm_db_use_pool(db, page);
        if (pm_db_select(db, PM_SQL_ADMIN_AUDIT_CHAIN_PAGE, &rows, pm_arg_int(page, *seq),
                         pm_arg_int(page, upto), pm_arg_int(page, VERIFY_PAGE)) != APR_SUCCESS) {
            pm_db_use_pool(db, NULL);
            return APR_EGENERAL;
        }
        for (i = 0; i < rows->nelts; i++) {
            if (check_row(page, r, &APR_ARRAY_IDX(rows, i, pm_row), seq, prev)) {
                r->problem = apr_pstrdup(p, r->problem);
                pm_db_use_pool(db, NULL);
                return APR_SUCCESS;
            }
        }
        *prev = apr_pstrdup(p, *prev);
    } while (rows->nelts == VERIFY_PAGE);
    pm_db_use_pool(db, NULL);
    return APR_SUCCESS;
}

static apr_status_t read_state(pm_db *db, const pm_row **state)
{
    apr_array_header_t *rows;

    if (pm_db_select(db, PM_SQL_ADMIN_AUDIT_CHAIN_STATE, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *state = pm_first_row(rows);
    return APR_SUCCESS;
}

/* After the walk: the head names the last row; no row sits past the head (a row a
 * writer commits meanwhile moves the head first, so the head is read again after
 * the rows past it); no row outside the chain; the rows from before it all there. */
static apr_status_t check_ends(pm_db *db, apr_pool_t *p, pm_audit_chain_report *r,
                               const pm_row *state, long long seq, const char *prev)
{
    apr_array_header_t *rows;
    const pm_row *row, *now;

    if (seq != pm_row_int(state, CHAIN_STATE_SEQ, 0)) {
        found(r, NULL, apr_psprintf(p, "the chain ends at place %" APR_INT64_T_FMT
                                    " but its head says %s: rows at its end were removed",
                                    (apr_int64_t)seq,
                                    pm_row_str(state, CHAIN_STATE_SEQ)));
        return APR_SUCCESS;
    }
    if (strcmp(prev, pm_row_str(state, CHAIN_STATE_HASH)) != 0) {
        found(r, NULL, "the chain's head does not name its last row's hash");
        return APR_SUCCESS;
    }
    if (pm_db_select(db, PM_SQL_ADMIN_AUDIT_CHAIN_PAST_HEAD, &rows, pm_arg_int(p, seq))
        != APR_SUCCESS || read_state(db, &now) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if ((row = pm_first_row(rows)) != NULL
        && pm_row_int(row, CHAIN_ROW_SEQ, 0) > pm_row_int(now, CHAIN_STATE_SEQ, 0)) {
        found(r, row, "it is past the chain's head: the row was added by hand");
        return APR_SUCCESS;
    }
    if (pm_db_select(db, PM_SQL_ADMIN_AUDIT_UNCHAINED, &rows,
                     pm_row_str(state, CHAIN_STATE_PRE_MAX),
                     pm_row_str(state, CHAIN_STATE_PRE_MAX)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if ((row = pm_first_row(rows)) != NULL
        && pm_row_int(row, UNCHAINED_ID, 0) != 0) {
        r->bad_id = pm_row_int(row, UNCHAINED_ID, 0);
        r->problem = "it has no place in the chain: the row was added by hand";
    }
    else if (pm_row_int(row, UNCHAINED_PRE_ROWS, 0)
             != pm_row_int(state, CHAIN_STATE_PRE_ROWS, 0)) {
        r->problem = apr_psprintf(p, "%" APR_INT64_T_FMT " rows from before the chain, %s "
                                  "expected: some were removed",
                                  (apr_int64_t)pm_row_int(row, UNCHAINED_PRE_ROWS, 0),
                                  pm_row_str(state, CHAIN_STATE_PRE_ROWS));
    }
    return APR_SUCCESS;
}

/* A chain that starts after place 0 was pruned: the prune that left this anchor
 * must be recorded in the chain after it (its audit.prune row names the anchor).
 * Without one, rows at the chain's beginning were removed by hand. */
static apr_status_t check_start(pm_db *db, apr_pool_t *p, pm_audit_chain_report *r)
{
    apr_array_header_t *rows;
    json_t *detail;
    int i, recorded = 0;

    if (r->anchor_seq == 0) {
        return APR_SUCCESS;
    }
    if (pm_db_select(db, PM_SQL_ADMIN_AUDIT_PRUNE_RECORDS, &rows, pm_arg_int(p, r->anchor_seq))
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts && !recorded; i++) {
        const char *text = pm_row_str(&APR_ARRAY_IDX(rows, i, pm_row), PRUNE_RECORD_DETAIL);
        if (text && (detail = json_loads(text, 0, NULL)) != NULL) {
            recorded = json_integer_value(json_object_get(detail, "anchor_seq"))
                       == r->anchor_seq;
            json_decref(detail);
        }
    }
    if (!recorded) {
        found(r, NULL, apr_psprintf(p, "the chain starts after place %" APR_INT64_T_FMT
                                    " but no audit prune recorded that: rows at its "
                                    "beginning were removed", (apr_int64_t)r->anchor_seq));
    }
    return APR_SUCCESS;
}

apr_status_t pm_audit_chain_verify(pm_db *db, apr_pool_t *p, pm_audit_chain_report *r)
{
    const pm_row *state;
    long long seq;
    const char *prev;

    memset(r, 0, sizeof(*r));
    if (read_state(db, &state) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (state == NULL) {
        r->problem = "the chain's head row (audit_chain) is missing";
        return APR_SUCCESS;
    }
    r->anchor_seq = seq = pm_row_int(state, CHAIN_STATE_ANCHOR_SEQ, 0);
    r->anchor_hash = prev = pm_row_str(state, CHAIN_STATE_ANCHOR_HASH);
    r->head_seq = pm_row_int(state, CHAIN_STATE_SEQ, 0);
    r->pre_chain = pm_row_int(state, CHAIN_STATE_PRE_ROWS, 0);
    if (walk(db, p, r, pm_row_int(state, CHAIN_STATE_SEQ, 0), &seq, &prev) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    r->head_hash = prev;
    if (r->problem) {
        return APR_SUCCESS;
    }
    if (check_ends(db, p, r, state, seq, prev) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return r->problem ? APR_SUCCESS : check_start(db, p, r);
}

/* ---- what is kept outside the database ------------------------------------------------ */

pm_audit_anchor_result pm_audit_chain_check_anchor(pm_db *db, apr_pool_t *p,
                                                   const pm_audit_chain_report *r,
                                                   long long seq, const char *hash,
                                                   const char **problem)
{
    apr_array_header_t *rows;
    const char *have;

    *problem = NULL;
    if (seq > r->head_seq) {
        *problem = apr_psprintf(p, "the anchor at chain place %" APR_INT64_T_FMT " is past the "
                                "chain's end (place %" APR_INT64_T_FMT "): rows at its end were "
                                "removed", (apr_int64_t)seq, (apr_int64_t)r->head_seq);
        return PM_ANCHOR_BROKEN;
    }
    if (seq < r->anchor_seq) {
        return PM_ANCHOR_PRUNED;          /* the recorded prune removed it (check_start) */
    }
    if (seq == r->anchor_seq) {
        have = r->anchor_hash;
    }
    else if (pm_db_select(db, PM_SQL_ADMIN_AUDIT_CHAIN_PAGE, &rows, pm_arg_int(p, seq - 1),
                          pm_arg_int(p, seq), pm_arg_int(p, 1)) != APR_SUCCESS) {
        return PM_ANCHOR_ERROR;
    }
    else {
        have = pm_row_str(pm_first_row(rows), CHAIN_ROW_HASH);
    }
    if (have == NULL || strcmp(have, hash) != 0) {
        *problem = apr_psprintf(p, "the anchor at chain place %" APR_INT64_T_FMT " says hash %s, "
                                "the chain has %s: the trail was rewritten", (apr_int64_t)seq,
                                hash, have ? have : "none");
        return PM_ANCHOR_BROKEN;
    }
    return PM_ANCHOR_HELD;
}

/* audit_log's append-only triggers, by driver (the schema and migration 011) */
static const char *const guards_sqlite[] = {
    "audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace", NULL
};
static const char *const guards_pgsql[] = {
    "audit_log_no_update", "audit_log_no_truncate", NULL
};

apr_status_t pm_audit_chain_check_guards(pm_db *db, apr_pool_t *p, const char **problem)
{
    int pg = strcmp(pm_db_driver_name(db), "pgsql") == 0;
    const char *const *name = pg ? guards_pgsql : guards_sqlite;
    apr_array_header_t *rows;

    *problem = NULL;
    for (; *name; name++) {
        if (pm_db_select(db, pg ? PM_SQL_ADMIN_AUDIT_GUARD_PGSQL : PM_SQL_ADMIN_AUDIT_GUARD_SQLITE,
                         &rows, *name) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (pm_row_int(pm_first_row(rows), COUNT_N, 0) == 0) {
            *problem = apr_psprintf(p, "the trigger %s on audit_log is missing%s: the trail is "
                                    "not append-only", *name, pg ? " or disabled" : "");
            return APR_SUCCESS;
        }
    }
    return APR_SUCCESS;
}
