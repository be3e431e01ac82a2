/* pm_client_keys.c — computes client name keys over the executor: a client row
 * without a sort_key gets its sort key (collation_locale) and its name-word search
 * keys, whether the module finds it on read-miss or the admin tool wrote it. */
#include "pm_client_keys.h"
#include "pm_collate.h"

#include <apr_strings.h>
#include <string.h>

#define FILL_BATCH 500      /* clients read, keyed and flushed at a time */
#define FILL_SORTED 25000   /* clients per transaction of a sorted fill */

struct pm_client_keyer {
    apr_pool_t *pool;
    pm_collator *match, *sort;
    const char *locale;
};

/* Rows for one multi-row INSERT, sent when full: ncols arguments per row, NULL in
 * every column of an unused one. */
typedef struct {
    pm_sql_id id;
    int rows, ncols;
    int n;                        /* rows gathered */
    const char **args;
} row_buffer;

struct pm_client_keys_stage {
    pm_db *db;
    int sorted;                   /* staged, then written in key order */
    row_buffer prefixes;          /* to client_name_prefixes(_stage) */
    row_buffer sets;              /* to client_name_key_sets */
    int staged;                   /* prefix rows gathered since the last finish */
    int ready;                    /* the stage table exists on this connection */
};

pm_client_keyer *pm_client_keyer_make(pm_db *db, apr_pool_t *p, const char *locale)
{
    pm_client_keyer *k = apr_pcalloc(p, sizeof(*k));

    k->pool = p;
    k->locale = locale;
    if ((k->match = pm_collate_match(p)) == NULL
        || (k->sort = pm_collate_sorter(p, locale)) == NULL) {
        pm_db_report(db, PM_DB_EV_COLLATOR, NULL, locale);
        return NULL;
    }
    return k;
}

static void buffer_init(row_buffer *b, apr_pool_t *p, pm_sql_id id, int rows, int ncols)
{
    b->id = id;
    b->rows = rows;
    b->ncols = ncols;
    b->n = 0;
    b->args = apr_pcalloc(p, rows * ncols * sizeof(*b->args));
}

static apr_status_t buffer_send(pm_db *db, row_buffer *b)
{
    int used = b->n * b->ncols;

    if (b->n == 0) {
        return APR_SUCCESS;
    }
    memset(&b->args[used], 0, (b->rows * b->ncols - used) * sizeof(*b->args));
    b->n = 0;
    return pm_db_exec_args(db, b->id, NULL, b->args);
}

/* The next row's argument slots; the buffer is sent first when it is full. */
static const char **buffer_row(pm_db *db, row_buffer *b)
{
    if (b->n == b->rows && buffer_send(db, b) != APR_SUCCESS) {
        return NULL;
    }
    return &b->args[b->n++ * b->ncols];
}

pm_client_keys_stage *pm_client_keys_stage_make(pm_db *db, apr_pool_t *p, int sorted)
{
    pm_client_keys_stage *st = apr_pcalloc(p, sizeof(*st));

    st->db = db;
    st->sorted = sorted;
    st->ready = !sorted;
    buffer_init(&st->prefixes, p, sorted ? PM_SQL_CLIENT_KEYS_STAGE : PM_SQL_CLIENT_KEYS_ADD,
                PM_SQL_STAGE_ROWS, 3);
    buffer_init(&st->sets, p, PM_SQL_CLIENT_KEYS_SET_ADD, PM_SQL_KEY_SET_ROWS, 3);
    return st;
}

/* SQLite's stage is a TEMP table of the connection, made before its first rows;
 * the DDL expires every statement prepared on the connection, so only once. */
static apr_status_t make_stage(pm_client_keys_stage *st)
{
    apr_array_header_t *rows;

    if (st->ready || strcmp(pm_db_driver_name(st->db), "sqlite3") != 0) {
        st->ready = 1;
        return APR_SUCCESS;
    }
    if (pm_db_select(st->db, PM_SQL_CLIENT_KEYS_STAGE_FOUND_SQLITE, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (pm_row_int(pm_first_row(rows), COUNT_N, 0) == 0) {
        if (pm_db_exec(st->db, PM_SQL_CLIENT_KEYS_STAGE_MAKE_SQLITE, NULL) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        pm_db_forget_prepared(st->db);
    }
    st->ready = 1;
    return APR_SUCCESS;
}

apr_status_t pm_client_keys_stage_flush(pm_client_keys_stage *st)
{
    if (buffer_send(st->db, &st->prefixes) != APR_SUCCESS
        || buffer_send(st->db, &st->sets) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t pm_client_keys_stage_add(pm_client_keys_stage *st, pm_client_keyer *k,
                                      const char *id, const char *sort_key,
                                      const char *first, const char *last)
{
    const apr_array_header_t *keys = pm_collate_name_prefix_keys(k->match, k->pool, first, last);
    const char **row;
    int i;

    if (make_stage(st) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < keys->nelts; i++) {
        if ((row = buffer_row(st->db, &st->prefixes)) == NULL) {
            return APR_EGENERAL;
        }
        row[0] = APR_ARRAY_IDX(keys, i, const char *);
        row[1] = sort_key;
        row[2] = id;
        st->staged++;
    }
    if ((row = buffer_row(st->db, &st->sets)) == NULL) {
        return APR_EGENERAL;
    }
    row[0] = id;
    row[1] = sort_key;
    row[2] = apr_array_pstrcat(k->pool, keys, ' ');
    return APR_SUCCESS;
}

apr_status_t pm_client_keys_stage_finish(pm_client_keys_stage *st)
{
    if (pm_client_keys_stage_flush(st) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (st->staged == 0 || !st->sorted) {
        st->staged = 0;
        return APR_SUCCESS;
    }
    st->staged = 0;
    if (pm_db_exec(st->db, PM_SQL_CLIENT_KEYS_UNSTAGE, NULL) != APR_SUCCESS
        || pm_db_exec(st->db, PM_SQL_CLIENT_KEYS_CLEAR_STAGE, NULL) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* A client's search keys as they were made (its key set): each row deleted by the
 * primary key, then the set. No set: the client never had keys. */
static apr_status_t drop_keys(pm_db *db, apr_pool_t *p, const char *id)
{
    apr_array_header_t *rows;
    const pm_row *set;
    const char *args[2 + PM_SQL_DROP_PREFIXES];
    char *prefixes, *state = NULL;
    int n = 2;

    if (pm_db_select(db, PM_SQL_CLIENT_KEYS_SET_GET, &rows, id) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if ((set = pm_first_row(rows)) == NULL) {
        return APR_SUCCESS;
    }
    args[0] = id;
    args[1] = pm_row_str(set, KEY_SET_SORT_KEY);
    prefixes = apr_pstrdup(p, pm_row_str(set, KEY_SET_PREFIXES));
    for (args[n] = apr_strtok(prefixes, " ", &state); args[n];
         args[n] = apr_strtok(NULL, " ", &state)) {
        if (++n == 2 + PM_SQL_DROP_PREFIXES) {
            if (pm_db_exec_args(db, PM_SQL_CLIENT_KEYS_DROP_PREFIXES, NULL, args) != APR_SUCCESS) {
                return APR_EGENERAL;
            }
            n = 2;
        }
    }
    if (n > 2) {
        memset(&args[n], 0, (2 + PM_SQL_DROP_PREFIXES - n) * sizeof(args[0]));
        if (pm_db_exec_args(db, PM_SQL_CLIENT_KEYS_DROP_PREFIXES, NULL, args) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return pm_db_exec(db, PM_SQL_CLIENT_KEYS_SET_DELETE, NULL, id);
}

/* A row another request filled meanwhile is left alone. */
apr_status_t pm_client_keys_store(pm_client_keys_stage *st, pm_client_keyer *k,
                                  const pm_row *row, int *keyed)
{
    const char *id = pm_row_str(row, UNKEYED_ID), *first = pm_row_str(row, UNKEYED_FIRST_NAME);
    const char *last = pm_row_str(row, UNKEYED_LAST_NAME);
    const char *sort_key = pm_collate_sort_key(k->sort, first, last);
    int updated = 0;

    if (pm_db_exec(st->db, PM_SQL_CLIENT_KEYS_SET_SORT, &updated, sort_key, k->locale, id)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (updated == 0) {
        return APR_SUCCESS;
    }
    if (drop_keys(st->db, k->pool, id) != APR_SUCCESS
        || pm_client_keys_stage_add(st, k, id, sort_key, first, last) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (keyed) {
        (*keyed)++;
    }
    return APR_SUCCESS;
}

const char *pm_client_keys_sort_key(pm_client_keyer *k, const char *first, const char *last)
{
    return pm_collate_sort_key(k->sort, first, last);
}

const char *pm_client_keys_locale(const pm_client_keyer *k)
{
    return k->locale;
}

int pm_client_keys_same_name(pm_client_keyer *k, apr_pool_t *p, const pm_row *row,
                             int first_col, int last_col, const char *first, const char *last)
{
    return pm_collate_same(k->match, p, pm_row_str(row, first_col), first)
           && pm_collate_same(k->match, p, pm_row_str(row, last_col), last);
}

const char *pm_client_keys_name_key(pm_client_keyer *k, apr_pool_t *p, const char *first,
                                    const char *last)
{
    return apr_pstrcat(p, pm_collate_same_key(k->match, p, first), "\t",
                       pm_collate_same_key(k->match, p, last), NULL);
}

/* One batch of clients without keys (its rows and keys in pool b), into the open
 * transaction; *got: how many there were. */
static apr_status_t fill_batch(pm_db *db, pm_client_keys_stage *st, apr_pool_t *b,
                               const char *locale, int *got, int *keyed)
{
    apr_array_header_t *rows;
    pm_client_keyer *k;
    int i;

    if (pm_db_select(db, PM_SQL_CLIENT_KEYS_MISSING, &rows, pm_arg_int(b, FILL_BATCH))
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *got = rows->nelts;
    if (rows->nelts == 0) {
        return APR_SUCCESS;
    }
    if ((k = pm_client_keyer_make(db, b, locale)) == NULL) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        if (pm_client_keys_store(st, k, &APR_ARRAY_IDX(rows, i, pm_row), keyed) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return pm_client_keys_stage_flush(st);
}

/* One transaction of up to `clients` clients, FILL_BATCH at a time; *more: a full
 * last batch, so some may be left. */
static apr_status_t fill_transaction(pm_db *db, apr_pool_t *p, const char *locale, int sorted,
                                     int clients, int *keyed, int *more)
{
    pm_client_keys_stage *st = pm_client_keys_stage_make(db, p, sorted);
    apr_pool_t *b, *previous;
    apr_status_t rv;
    int done = 0, got = 0, n = 0;

    if (pm_db_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_pool_create(&b, p);
    previous = pm_db_use_pool(db, b);
    do {
        apr_pool_clear(b);
        rv = fill_batch(db, st, b, locale, &got, &n);
        done += got;
    } while (rv == APR_SUCCESS && got == FILL_BATCH && done < clients);
    if (rv == APR_SUCCESS) {
        rv = pm_client_keys_stage_finish(st);
    }
    pm_db_use_pool(db, previous);
    apr_pool_destroy(b);
    if (rv != APR_SUCCESS) {
        pm_db_rollback(db);
        return rv;
    }
    if (pm_db_commit(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *keyed += n;
    *more = got == FILL_BATCH;
    return APR_SUCCESS;
}

/* The module's fills commit every FILL_BATCH clients, so a request never holds the
 * writer long; the admin tool's (sorted) one transaction per FILL_SORTED clients,
 * each ending in one ordered insert. */
apr_status_t pm_client_keys_fill_all(pm_db *db, apr_pool_t *p, const char *locale, int sorted,
                                     int *keyed)
{
    apr_pool_t *t;
    apr_status_t rv;
    int n = 0, more = 1;

    apr_pool_create(&t, p);
    do {
        apr_pool_clear(t);
        rv = fill_transaction(db, t, locale, sorted, sorted ? FILL_SORTED : FILL_BATCH, &n, &more);
    } while (rv == APR_SUCCESS && more);
    apr_pool_destroy(t);
    if (keyed) {
        *keyed = n;
    }
    return rv;
}

/* Every list and search page calls this: a read finds out first whether any client
 * lacks keys, so the usual answer (none) takes no write lock. It used to open an
 * empty write transaction per page, queueing each page behind every audit commit. */
apr_status_t pm_client_keys_missing(pm_db *db, apr_pool_t *p, int *missing)
{
    apr_array_header_t *rows;

    if (pm_db_select(db, PM_SQL_CLIENT_KEYS_MISSING, &rows, pm_arg_int(p, 1)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *missing = rows->nelts > 0;
    return APR_SUCCESS;
}

apr_status_t pm_client_keys_fill(pm_db *db, apr_pool_t *p, const char *locale)
{
    int missing = 0;

    if (pm_client_keys_missing(db, p, &missing) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return missing ? pm_client_keys_fill_all(db, p, locale, 0, NULL) : APR_SUCCESS;
}

apr_status_t pm_client_keys_forget_locale(pm_db *db, const char *locale)
{
    return pm_db_exec(db, PM_SQL_CLIENT_KEYS_FORGET_LOCALE, NULL, locale);
}
