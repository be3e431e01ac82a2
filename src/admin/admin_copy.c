/* admin_copy.c — portal-manager-admin copy: every table of a SQLite database into a
 * PostgreSQL database init has just made, read from one snapshot of the source and
 * written in one transaction on the target, as its owner (no superuser). */
#include "admin.h"
#include "pm_audit_chain.h"
#include "pm_columns.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables in the order they are written (pm_sql.h's PM_COPY_TABLES). */
typedef struct {
    const char *name;
    const char *deferred;          /* a column written after the table it names */
    pm_sql_id read, count, clear, write;
} copy_table;

#define COPY_TABLE_ENTRY(U, t, d) { #t, d, PM_SQL_COPY_READ_##U, PM_SQL_COPY_COUNT_##U, \
                                    PM_SQL_COPY_CLEAR_##U, PM_SQL_COPY_WRITE_##U },
static const copy_table tables[] = { PM_COPY_TABLES(COPY_TABLE_ENTRY) };
#define NTABLES ((int)(sizeof(tables) / sizeof(tables[0])))

/* tables of the schema that are not copied: init writes the one, the other is empty
 * outside a transaction */
static const char *const left_out[] = { "schema_version", "client_name_prefixes_stage" };

typedef struct {
    admin_db *src, *dst;
    apr_pool_t *scratch;
    apr_array_header_t *identities;  /* pm_row: table, column (the target's) */
    json_t *deferred;                /* the rows held back (their deferred column set) */
    int deferred_table, deferred_after;  /* whose rows, written after which table */
    long long counts[NTABLES];
    long long total;
} copy_run;

static int table_index(const char *name)
{
    int i;

    for (i = 0; i < NTABLES; i++) {
        if (strcmp(tables[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int is_left_out(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(left_out) / sizeof(left_out[0]); i++) {
        if (strcmp(left_out[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The target's tables and foreign keys against the list: a table it does not name,
 * or a key to a table written later (but the list's deferred column), is refused. */
static int check_order(copy_run *c)
{
    apr_array_header_t *rows;
    int i;

    if (pm_db_select(c->dst->exec, PM_SQL_COPY_TABLES_PGSQL, &rows) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char *name = pm_row_str(&APR_ARRAY_IDX(rows, i, pm_row), 0);
        if (table_index(name) < 0 && !is_left_out(name)) {
            admin_error("the target has a table this tool does not copy: %s (is the tool "
                        "older than the schema?)", name);
            return ADMIN_FAIL;
        }
    }
    if (pm_db_select(c->dst->exec, PM_SQL_COPY_FOREIGN_KEYS_PGSQL, &rows) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        int child = table_index(pm_row_str(r, 0)), parent = table_index(pm_row_str(r, 1));
        const char *col = pm_row_str(r, 2);

        if (child >= 0 && parent > child && tables[child].deferred
            && strcmp(tables[child].deferred, col) == 0) {
            c->deferred_table = child;
            c->deferred_after = parent;
            continue;
        }
        if (child < 0 || parent < 0 || parent >= child) {
            admin_error("the foreign key %s.%s to %s is not in the copy's order (pm_sql.h, "
                        "PM_COPY_TABLES)", pm_row_str(r, 0), col, pm_row_str(r, 1));
            return ADMIN_FAIL;
        }
    }
    return pm_db_select(c->dst->exec, PM_SQL_COPY_IDENTITIES_PGSQL, &c->identities)
           == APR_SUCCESS ? ADMIN_OK : ADMIN_FAIL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A table's column names (source: in its order, *sorted a copy by name). */
static int column_names(admin_db *db, pm_sql_id id, const char *table,
                        apr_array_header_t **names, apr_array_header_t **sorted)
{
    apr_array_header_t *rows;
    int i;

    if (pm_db_select(db->exec, id, &rows, table) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    *names = apr_array_make(db->pool, rows->nelts, sizeof(const char *));
    for (i = 0; i < rows->nelts; i++) {
        APR_ARRAY_PUSH(*names, const char *) =
            apr_pstrdup(db->pool, pm_row_str(&APR_ARRAY_IDX(rows, i, pm_row), 0));
    }
    *sorted = apr_array_copy(db->pool, *names);
    qsort((*sorted)->elts, (size_t)(*sorted)->nelts, sizeof(const char *), by_name);
    return ADMIN_OK;
}

/* The same columns on both sides (a value the target has no column for would be lost).
 * A table only the target has (audit_flush: PostgreSQL's, migration 021) gives
 * *names no element: nothing to copy. */
static int same_columns(copy_run *c, const copy_table *t, apr_array_header_t **names)
{
    apr_array_header_t *src_sorted, *dst, *dst_sorted;
    int i;

    if (column_names(c->src, PM_SQL_COPY_COLUMNS_SQLITE, t->name, names, &src_sorted)
            != ADMIN_OK
        || column_names(c->dst, PM_SQL_COPY_COLUMNS_PGSQL, t->name, &dst, &dst_sorted)
            != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (src_sorted->nelts == 0) {
        return ADMIN_OK;
    }
    for (i = 0; src_sorted->nelts == dst_sorted->nelts && i < src_sorted->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(src_sorted, i, const char *),
                   APR_ARRAY_IDX(dst_sorted, i, const char *)) != 0) {
            break;
        }
    }
    if (i < src_sorted->nelts || src_sorted->nelts != dst_sorted->nelts) {
        admin_error("table %s has other columns in the source than in the target; "
                    "nothing was copied", t->name);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* The target holds only what init writes: refuse anything else, said once. */
static int check_empty(copy_run *c, const char *to_params_hint)
{
    int version, i, n;

    if (admin_db_schema_version(c->dst, &version) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (version != PM_SCHEMA_VERSION) {
        admin_error("the target database is at schema %d, not %d: create it with "
                    "'portal-manager-admin --driver pgsql --params ... init' first",
                    version, PM_SCHEMA_VERSION);
        return ADMIN_FAIL;
    }
    for (i = 0; i < NTABLES; i++) {
        if (tables[i].write != PM_SQL_COPY_WRITE_AUDIT_CHAIN
            && (admin_db_count(c->dst, tables[i].count, &n, NULL, NULL) != ADMIN_OK || n > 0)) {
            if (n > 0) {
                admin_error("the target database is not empty (%s holds %d rows); nothing "
                            "was copied: drop it, create it again (%s), run "
                            "'portal-manager-admin --driver pgsql --params ... init' and "
                            "copy again", tables[i].name, n, to_params_hint);
            }
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

/* The target's identity columns of table t: which of the source's columns, and
 * their largest value so far. */
static void track_identities(copy_run *c, const copy_table *t, const apr_array_header_t *names,
                             const pm_row *r, long long *max)
{
    int i, j;

    for (i = 0; i < c->identities->nelts; i++) {
        const pm_row *id = &APR_ARRAY_IDX(c->identities, i, pm_row);
        if (strcmp(pm_row_str(id, 0), t->name) != 0) {
            continue;
        }
        for (j = 0; j < names->nelts && j < r->ncols; j++) {
            if (strcmp(APR_ARRAY_IDX(names, j, const char *), pm_row_str(id, 1)) == 0
                && r->v[j] && atoll(r->v[j]) > max[i]) {
                max[i] = atoll(r->v[j]);
            }
        }
    }
}

/* One source row as a JSON object by column name; *held: its deferred column is set. */
static json_t *row_object(const copy_table *t, const apr_array_header_t *names,
                          const pm_row *r, int *held)
{
    json_t *o = json_object(), *v;
    int j;

    *held = 0;
    for (j = 0; j < names->nelts && j < r->ncols; j++) {
        const char *col = APR_ARRAY_IDX(names, j, const char *);
        if (t->deferred && strcmp(col, t->deferred) == 0 && r->v[j]) {
            *held = 1;
        }
        if ((v = r->v[j] ? json_string(r->v[j]) : json_null()) == NULL) {
            admin_error("table %s: a value is not UTF-8 text; nothing was copied", t->name);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, col, v);
    }
    return o;
}

/* A batch of rows (a JSON array) in one statement. */
static int write_batch(admin_db *db, pm_sql_id id, json_t *batch)
{
    char *text;
    int affected = 0, rc = ADMIN_OK;

    if (json_array_size(batch) == 0) {
        return ADMIN_OK;
    }
    if ((text = json_dumps(batch, JSON_COMPACT)) == NULL
        || pm_db_exec(db->exec, id, &affected, text) != APR_SUCCESS) {
        rc = ADMIN_FAIL;
    }
    free(text);
    json_array_clear(batch);
    return rc;
}

/* One table being copied: its columns, the rows waiting for the next write. */
typedef struct {
    copy_run *c;
    int ti;
    const apr_array_header_t *names;
    long long *max;
    json_t *batch;
    long long rows;
} copy_table_run;

/* A batch of source rows as they are read (pm_db_select_each): into the target's
 * batch, written at PM_SQL_COPY_ROWS. */
static apr_status_t copy_rows(void *ctx, const apr_array_header_t *rows)
{
    copy_table_run *tr = ctx;
    const copy_table *t = &tables[tr->ti];
    json_t *o;
    int i, held;

    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        track_identities(tr->c, t, tr->names, r, tr->max);
        if ((o = row_object(t, tr->names, r, &held)) == NULL) {
            return APR_EGENERAL;
        }
        json_array_append_new(held ? tr->c->deferred : tr->batch, o);
        tr->rows++;
        if (json_array_size(tr->batch) >= PM_SQL_COPY_ROWS
            && write_batch(tr->c->dst, t->write, tr->batch) != ADMIN_OK) {
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

/* One table: what the target's triggers wrote into it cleared, then every source row,
 * streamed: the target gets PM_SQL_COPY_ROWS at a time as the source is read, so
 * memory holds one batch, not the table. */
static int copy_one(copy_run *c, int ti, long long *max)
{
    copy_table_run tr;
    apr_array_header_t *names;
    int affected, rc = ADMIN_OK;

    memset(&tr, 0, sizeof(tr));
    apr_pool_clear(c->scratch);
    if (same_columns(c, &tables[ti], &names) != ADMIN_OK
        || pm_db_exec(c->dst->exec, tables[ti].clear, &affected) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (names->nelts == 0) {
        return ADMIN_OK;
    }
    tr.c = c;
    tr.ti = ti;
    tr.names = names;
    tr.max = max;
    tr.batch = json_array();
    pm_db_use_pool(c->src->exec, c->scratch);
    pm_db_use_pool(c->dst->exec, c->scratch);
    if (pm_db_select_each(c->src->exec, tables[ti].read, PM_SQL_COPY_ROWS, copy_rows, &tr)
            != APR_SUCCESS
        || write_batch(c->dst, tables[ti].write, tr.batch) != ADMIN_OK) {
        rc = ADMIN_FAIL;
    }
    else {
        c->counts[ti] = tr.rows;
        c->total += tr.rows;
    }
    pm_db_use_pool(c->src->exec, NULL);
    pm_db_use_pool(c->dst->exec, NULL);
    json_decref(tr.batch);
    return rc;
}

/* Every identity column goes on after the largest copied value. */
static int reset_identities(copy_run *c, const long long *max)
{
    apr_array_header_t *rows;
    int i;

    for (i = 0; i < c->identities->nelts; i++) {
        const pm_row *id = &APR_ARRAY_IDX(c->identities, i, pm_row);
        if (pm_db_select(c->dst->exec, PM_SQL_COPY_SET_IDENTITY_PGSQL, &rows,
                         pm_row_str(id, 0), pm_row_str(id, 1),
                         pm_arg_int(c->scratch, max[i] + 1)) != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

/* Both chains verify and end at the same head, or nothing is committed. */
static int same_heads(copy_run *c, const char **head, long long *rows)
{
    pm_audit_chain_report s, d;

    if (pm_audit_chain_verify(c->src->exec, c->src->pool, &s) != APR_SUCCESS
        || pm_audit_chain_verify(c->dst->exec, c->dst->pool, &d) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (s.problem || d.problem || s.head_seq != d.head_seq || s.rows != d.rows
        || strcmp(s.head_hash, d.head_hash) != 0) {
        admin_error("the audit chain does not verify the same on both sides (source: %s, "
                    "head %s; target: %s, head %s); nothing was copied",
                    s.problem ? s.problem : "ok", s.head_hash ? s.head_hash : "-",
                    d.problem ? d.problem : "ok", d.head_hash ? d.head_hash : "-");
        return ADMIN_FAIL;
    }
    *head = s.head_hash;
    *rows = s.rows;
    return ADMIN_OK;
}

static int copy_all(copy_run *c, const admin_options *o, const char **head, long long *rows)
{
    long long *max = apr_pcalloc(c->src->pool, sizeof(long long)
                                 * (size_t)(c->identities->nelts + 1));
    admin_trail *trail = admin_trail_make(c->src->pool);
    int i;

    for (i = 0; i < NTABLES; i++) {
        if (copy_one(c, i, max) != ADMIN_OK
            || (i == c->deferred_after && c->deferred_after > 0
                && write_batch(c->dst, tables[c->deferred_table].write, c->deferred)
                   != ADMIN_OK)) {
            return ADMIN_FAIL;
        }
    }
    if (reset_identities(c, max) != ADMIN_OK || same_heads(c, head, rows) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    admin_trail_add(trail, "database.copy", NULL,
                    json_pack("{s:s,s:I}", "from_driver", o->driver, "rows",
                              (json_int_t)c->total));
    return admin_trail_write(c->dst, trail);
}

static void print_summary(const copy_run *c, apr_time_t started)
{
    int i;

    printf("copied %lld rows in %.1f s:", c->total,
           (double)(apr_time_now() - started) / APR_USEC_PER_SEC);
    for (i = 0; i < NTABLES; i++) {
        printf("%s %s %lld", i ? "," : "", tables[i].name, c->counts[i]);
    }
    printf("\n");
}

static int snapshot(admin_db *src, pm_sql_id id)
{
    int affected;

    return pm_db_exec(src->exec, id, &affected) == APR_SUCCESS ? ADMIN_OK : ADMIN_FAIL;
}

int admin_cmd_copy(admin_db *src, const admin_options *o)
{
    copy_run c;
    apr_time_t started = apr_time_now();
    const char *head = NULL;
    long long chained = 0;
    int rc;

    memset(&c, 0, sizeof(c));
    c.src = src;
    if (admin_db_open(src->pool, o->to_driver, o->to_params, &c.dst) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    apr_pool_create(&c.scratch, src->pool);
    c.deferred = json_array();
    rc = snapshot(src, PM_SQL_COPY_SNAPSHOT_BEGIN_SQLITE);
    if (rc == ADMIN_OK) {
        rc = admin_db_begin(c.dst);
        if (rc == ADMIN_OK) {
            rc = check_order(&c);
        }
        if (rc == ADMIN_OK) {
            rc = check_empty(&c, "dropdb NAME; createdb -O OWNER NAME");
        }
        if (rc == ADMIN_OK) {
            rc = copy_all(&c, o, &head, &chained);
        }
        rc = rc == ADMIN_OK ? admin_db_commit(c.dst) : (admin_db_rollback(c.dst), ADMIN_FAIL);
        snapshot(src, PM_SQL_COPY_SNAPSHOT_END_SQLITE);
    }
    json_decref(c.deferred);
    admin_db_close(c.dst);
    if (rc == ADMIN_OK) {
        printf("audit chain: %lld rows, head %s on both\n", chained, head);
        print_summary(&c, started);
    }
    return rc;
}
