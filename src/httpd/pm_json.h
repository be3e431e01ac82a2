/* pm_json.h — what the module adds to Jansson, which the code otherwise calls
 * directly. One ownership rule: every json_t has exactly one owner — a pool (the
 * documents a handler builds or parses: pm_json_object, pm_json_parse, or
 * pm_json_pool on a value of its own) or the container it was added to with
 * json_object_set_new / json_array_append_new (which take the new reference).
 * A function that builds a piece returns a new reference for its caller to hand
 * on that way; a temporary that goes to neither is json_decref'd where it was
 * made. Pool-owned values are never json_decref'd by hand. */
#ifndef PM_JSON_H
#define PM_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Tie a new reference to pool p: it is released when p is cleared. Returns j. */
json_t *pm_json_pool(apr_pool_t *p, json_t *j);

/* A new empty object owned by pool p. */
json_t *pm_json_object(apr_pool_t *p);

/* Setters that take a C value and build the json_t (NULL string -> null). A
 * string that is not valid UTF-8 is set with its bad bytes as U+FFFD (logged at
 * debug), never dropped. */
void pm_json_set_str(json_t *obj, const char *key, const char *value);
void pm_json_set_int(json_t *obj, const char *key, long long value);
void pm_json_set_bool(json_t *obj, const char *key, int value);
void pm_json_set_null(json_t *obj, const char *key);

/* Parse a whole document, rejecting duplicate keys. On failure returns NULL and
 * sets *error to a short message with the position. */
json_t *pm_json_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char **error);

/* Compact UTF-8 text of j, allocated from p. */
const char *pm_json_text(apr_pool_t *p, const json_t *j);

#endif
