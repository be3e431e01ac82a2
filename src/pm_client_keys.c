/* pm_client_keys.c — computes missing client name keys on read-miss: a client
 * row without a sort_key gets its sort key (collation_locale) and its name-word
 * search keys, so rows written by other programs are still found and sorted. */
#include "pm_client_keys.h"
#include "pm_collate.h"

APLOG_USE_MODULE(portal_manager);

#define FILL_BATCH 500

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

/* One client's keys; a row another request filled meanwhile is left alone. */
static apr_status_t fill_one(pm_db *db, apr_pool_t *p, pm_collator *m, pm_collator *s,
                             const char *locale, const pm_row *row)
{
    const char *id = pm_row_str(row, UNKEYED_ID), *first = pm_row_str(row, UNKEYED_FIRST_NAME);
    const char *last = pm_row_str(row, UNKEYED_LAST_NAME);
    const char *sort_key = pm_collate_sort_key(s, first, last);
    int updated = 0;

    if (pm_db_exec(db, PM_SQL_CLIENT_KEYS_SET_SORT, &updated, sort_key, locale, id)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (updated == 0) {
        return APR_SUCCESS;
    }
    if (pm_db_exec(db, PM_SQL_CLIENT_KEYS_CLEAR_PREFIXES, NULL, id) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return add_prefixes(db, id, sort_key, pm_collate_name_prefix_keys(m, p, first, last));
}

static apr_status_t fill_batch(pm_db *db, apr_pool_t *p, pm_collator *m, pm_collator *s,
                               const char *locale, apr_array_header_t *rows)
{
    int i;

    if (pm_db_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        if (fill_one(db, p, m, s, locale, &APR_ARRAY_IDX(rows, i, pm_row)) != APR_SUCCESS) {
            pm_db_rollback(db);
            return APR_EGENERAL;
        }
    }
    return pm_db_commit(db);
}

apr_status_t pm_client_keys_fill(pm_db *db, apr_pool_t *p, const char *locale)
{
    apr_array_header_t *rows;
    pm_collator *m, *s;
    apr_pool_t *batch;
    apr_status_t rv = APR_SUCCESS;

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
        if ((m = pm_collate_match(batch)) == NULL
            || (s = pm_collate_sorter(batch, locale)) == NULL) {
            ap_log_perror(APLOG_MARK, APLOG_ERR, 0, p, PM_LOGNO(00176)
                          "cannot open the ICU collator for locale %s", locale);
            rv = APR_EGENERAL;
            break;
        }
        if (fill_batch(db, batch, m, s, locale, rows) != APR_SUCCESS) {
            rv = APR_EGENERAL;
            break;
        }
        if (rows->nelts < FILL_BATCH) {
            break;
        }
    }
    apr_pool_destroy(batch);
    return rv;
}

apr_status_t pm_client_keys_forget_locale(pm_db *db, const char *locale)
{
    return pm_db_exec(db, PM_SQL_CLIENT_KEYS_FORGET_LOCALE, NULL, locale);
}
