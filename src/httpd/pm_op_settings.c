/* pm_op_settings.c — the settings operations: checking a PUT body against the
 * definitions (pm_settings_def.c), every value of it, and storing it in one audited
 * transaction, with a new collation_locale's client sort keys (pm_client_keys.c). */
#include "pm_op.h"
#include "pm_audit.h"
#include "pm_client_keys.h"
#include "pm_collate.h"

/* The first name in the body that is not a setting, or NULL. */
static const char *unknown_setting(json_t *body)
{
    const char *k;
    json_t *v;

    json_object_foreach(body, k, v) {
        if (pm_setting_find(k) == NULL) {
            return k;
        }
    }
    return NULL;
}

/* Every value (null aside: back to the default) its definition refuses, in the
 * body's order. */
static apr_array_header_t *refused_values(json_t *body, int insecure_ok, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(pm_op_setting_problem));
    const char *k, *problem;
    json_t *v;

    json_object_foreach(body, k, v) {
        if (!json_is_null(v)
            && (problem = pm_setting_problem(p, pm_setting_find(k), v, insecure_ok)) != NULL) {
            pm_op_setting_problem *e = apr_array_push(out);
            e->key = k;
            e->problem = problem;
        }
    }
    return out;
}

pm_op_outcome pm_op_settings_check(json_t *body, int insecure_ok, apr_pool_t *p,
                                   const char **key, apr_array_header_t **problems)
{
    *key = NULL;
    *problems = NULL;
    if (body == NULL || json_object_size(body) == 0) {
        return PM_OP_NO_BODY;
    }
    if ((*key = unknown_setting(body)) != NULL) {
        return PM_OP_UNKNOWN_SETTING;
    }
    *problems = refused_values(body, insecure_ok, p);
    return (*problems)->nelts > 0 ? PM_OP_INVALID_SETTING : PM_OP_OK;
}

/* The collation_locale the body sets (null: the default), or NULL if it does not. */
static const char *collation_locale_change(json_t *body)
{
    json_t *v = json_object_get(body, "collation_locale");

    if (v == NULL) {
        return NULL;
    }
    return json_is_string(v) ? json_string_value(v) : PM_COLLATE_DEFAULT_LOCALE;
}

/* Each value stored (null: the row deleted, back to the default); the names go
 * to `changed`, never a template's text. */
static pm_op_outcome store_values(pm_op_ctx *c, json_t *body, json_t *changed)
{
    const char *key, *now = pm_arg_int(c->pool, c->now);
    json_t *v;

    json_object_foreach(body, key, v) {
        /* an email text is stored per language: {"es": "..."}; a string is English */
        json_t *stored = pm_setting_per_language(pm_setting_find(key))
                         ? pm_json_pool(c->pool, pm_setting_by_language(v)) : v;
        apr_status_t rv = json_is_null(v)
            ? pm_db_exec(c->db, PM_SQL_SETTINGS_DELETE, NULL, key)
            : pm_db_exec(c->db, PM_SQL_SETTINGS_UPSERT, NULL, key,
                         pm_json_text(c->pool, stored), now, c->staff->username);
        if (rv != APR_SUCCESS) {
            return PM_OP_DB_UNAVAILABLE;
        }
        json_array_append_new(changed, json_string(key));
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_settings_store(pm_op_ctx *c, json_t *body)
{
    json_t *changed = json_array(), *detail = pm_json_object(c->pool);
    const char *locale = collation_locale_change(body);
    pm_op_outcome o;

    json_object_set_new(detail, "changed", changed);
    if (pm_db_begin(c->db) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if ((o = store_values(c, body, changed)) != PM_OP_OK) {
        return o;
    }
    /* a new collation_locale forgets the sort keys of the old one, in the same
     * transaction */
    if ((locale && pm_client_keys_forget_locale(c->db, locale) != APR_SUCCESS)
        || pm_op_finish(c, "settings.update", 0, 0, detail) != PM_OP_OK) {
        return PM_OP_DB_UNAVAILABLE;
    }
    /* the sort keys of the new locale, now (batches of their own); whatever is
     * left undone here is done by the next list or search (read-miss) */
    if (locale) {
        pm_client_keys_fill(c->db, c->pool, locale);
    }
    return PM_OP_OK;
}
