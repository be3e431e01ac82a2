/* pm_json.h — the only doorway to Jansson: JSON values whose lifetime is a pool
 * (a cleanup drops the reference), strict parsing, and small typed getters. */
#ifndef PM_JSON_H
#define PM_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Tie a new reference to pool p: it is released when p is cleared. Returns j. */
json_t *pm_json_pool(apr_pool_t *p, json_t *j);

json_t *pm_json_object(apr_pool_t *p);
json_t *pm_json_array(apr_pool_t *p);

/* Setters that take a C value and build the json_t (NULL string -> null). */
void pm_json_set_str(json_t *obj, const char *key, const char *value);
void pm_json_set_int(json_t *obj, const char *key, long long value);
void pm_json_set_bool(json_t *obj, const char *key, int value);
void pm_json_set_null(json_t *obj, const char *key);
/* Adds a child (which may be pool-owned: a new reference is taken). */
void pm_json_set(json_t *obj, const char *key, json_t *child);
void pm_json_append(json_t *arr, json_t *child);

/* Parse a whole document, rejecting duplicate keys. On failure returns NULL and
 * sets *error to a short message with the position. */
json_t *pm_json_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char **error);

/* Compact UTF-8 text of j, allocated from p. */
const char *pm_json_text(apr_pool_t *p, const json_t *j);

#endif
