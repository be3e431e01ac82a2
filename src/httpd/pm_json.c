/* pm_json.c — pool-owned JSON documents, strict parsing (duplicate keys rejected,
 * one document, no trailing bytes), setters that map a C NULL to JSON null. */
#include "pm_json.h"
#include "pm_common.h"
#include "pm_text.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(portal_manager);

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *pm_json_pool(apr_pool_t *p, json_t *j)
{
    if (j != NULL) {
        apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    }
    return j;
}

json_t *pm_json_object(apr_pool_t *p)
{
    return pm_json_pool(p, json_object());
}

/* value as a JSON string although it is not valid UTF-8 (Jansson refuses such
 * text): the bad bytes become U+FFFD, so the key is never lost. */
static json_t *repaired_string(const char *key, const char *value)
{
    size_t len = strlen(value);
    char *buf = malloc(len * 3 + 1);
    json_t *v = NULL;

    if (buf != NULL) {
        pm_utf8_repair(buf, value, len);
        v = json_string(buf);
        free(buf);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, NULL, PM_LOGNO(00663) "text for JSON key \"%s\" "
                 "was not valid UTF-8: its bad bytes were replaced by U+FFFD", key);
    return v ? v : json_string("(text that could not be shown)");
}

void pm_json_set_str(json_t *obj, const char *key, const char *value)
{
    json_t *v = value ? json_string(value) : json_null();

    if (v == NULL && value != NULL) {
        v = repaired_string(key, value);
    }
    json_object_set_new(obj, key, v);
}

void pm_json_set_int(json_t *obj, const char *key, long long value)
{
    json_object_set_new(obj, key, json_integer((json_int_t)value));
}

void pm_json_set_bool(json_t *obj, const char *key, int value)
{
    json_object_set_new(obj, key, json_boolean(value));
}

void pm_json_set_null(json_t *obj, const char *key)
{
    json_object_set_new(obj, key, json_null());
}

json_t *pm_json_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char **error)
{
    json_error_t err;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);

    if (j == NULL) {
        *error = apr_psprintf(p, "%s (line %d, column %d)", err.text, err.line, err.column);
        return NULL;
    }
    return pm_json_pool(p, j);
}

static apr_status_t text_cleanup(void *text)
{
    free(text);
    return APR_SUCCESS;
}

/* jansson's own buffer, freed with the pool (a list page's text is not copied again) */
const char *pm_json_text(apr_pool_t *p, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

    if (s == NULL) {
        return "null";
    }
    apr_pool_cleanup_register(p, s, text_cleanup, apr_pool_cleanup_null);
    return s;
}
