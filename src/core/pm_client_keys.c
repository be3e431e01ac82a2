/* pm_client_keys.c — computes client name keys over the executor: a client row
 * without a sort_key gets its sort key (collation_locale) and its name-word search
 * keys, whether the module finds it on read-miss or the admin tool wrote it. */
#include "pm_client_keys.h"
#include "pm_collate.h"

#define FILL_BATCH 500

struct pm_client_keyer {
    apr_pool_t *pool;
    pm_collator *match, *sort;
    const char *locale;
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

/* The key in slot j of a batch starting at i, or NULL past the end. */
static const char *slot(const apr_array_header_t *keys, int i, int j)
{
    return i + j < keys->nelts ? APR_ARRAY_IDX(keys, i + j, const char *) : NULL;
}

static apr_status_t add_prefixes(pm_db *db, const char *id, const char *sort_key,
                                 const apr_array_header_t *keys)
{
    int i;

    for (i = 0; i < keys->nelts; i += PM_SQL_PREFIXES_PER_INSERT) {
        if (pm_db_exec(db, PM_SQL_CLIENT_KEYS_ADD_PREFIXES, NULL, sort_key, id,
                       slot(keys, i, 0), slot(keys, i, 1), slot(keys, i, 2), slot(keys, i, 3),
                       slot(keys, i, 4), slot(keys, i, 5), slot(keys, i, 6), slot(keys, i, 7))
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

/* A row another request filled meanwhile is left alone. */
apr_status_t pm_client_keys_store(pm_db *db, pm_client_keyer *k, const pm_row *row,
                                  int *keyed)
{
    const char *id = pm_row_str(row, UNKEYED_ID), *first = pm_row_str(row, UNKEYED_FIRST_NAME);
    const char *last = pm_row_str(row, UNKEYED_LAST_NAME);
    const char *sort_key = pm_collate_sort_key(k->sort, first, last);
    int updated = 0;

    if (pm_db_exec(db, PM_SQL_CLIENT_KEYS_SET_SORT, &updated, sort_key, k->locale, id)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (updated == 0) {
        return APR_SUCCESS;
    }
    if (pm_db_exec(db, PM_SQL_CLIENT_KEYS_CLEAR_PREFIXES, NULL, id) != APR_SUCCESS
        || add_prefixes(db, id, sort_key,
                        pm_collate_name_prefix_keys(k->match, k->pool, first, last))
           != APR_SUCCESS) {
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

apr_status_t pm_client_keys_add_new(pm_db *db, pm_client_keyer *k, const char *id,
                                    const char *sort_key, const char *first, const char *last)
{
    return add_prefixes(db, id, sort_key,
                        pm_collate_name_prefix_keys(k->match, k->pool, first, last));
}

static apr_status_t fill_batch(pm_db *db, pm_client_keyer *k, apr_array_header_t *rows,
                               int *keyed)
{
    int i, n = 0;

    if (pm_db_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        if (pm_client_keys_store(db, k, &APR_ARRAY_IDX(rows, i, pm_row), &n) != APR_SUCCESS) {
            pm_db_rollback(db);
            return APR_EGENERAL;
        }
    }
    if (pm_db_commit(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *keyed += n;
    return APR_SUCCESS;
}

apr_status_t pm_client_keys_fill_all(pm_db *db, apr_pool_t *p, const char *locale, int *keyed)
{
    apr_array_header_t *rows;
    pm_client_keyer *k;
    apr_pool_t *batch;
    apr_status_t rv = APR_SUCCESS;
    int n = 0;

    apr_pool_create(&batch, p);
    for (;;) {
        apr_pool_clear(batch);
        if (pm_db_select(db, PM_SQL_CLIENT_KEYS_MISSING, &rows, pm_arg_int(batch, FILL_BATCH))
            != APR_SUCCESS) {
            rv = APR_EGENERAL;
            break;
        }
        if (rows->nelts == 0) {
            break;
        }
        /* per batch: the keys a collator computes live in its pool */
        if ((k = pm_client_keyer_make(db, batch, locale)) == NULL
            || fill_batch(db, k, rows, &n) != APR_SUCCESS) {
            rv = APR_EGENERAL;
            break;
        }
        if (rows->nelts < FILL_BATCH) {
            break;
        }
    }
    apr_pool_destroy(batch);
    if (keyed) {
        *keyed = n;
    }
    return rv;
}

apr_status_t pm_client_keys_fill(pm_db *db, apr_pool_t *p, const char *locale)
{
    return pm_client_keys_fill_all(db, p, locale, NULL);
}

apr_status_t pm_client_keys_forget_locale(pm_db *db, const char *locale)
{
    return pm_db_exec(db, PM_SQL_CLIENT_KEYS_FORGET_LOCALE, NULL, locale);
}
