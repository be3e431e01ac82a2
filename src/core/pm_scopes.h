/* pm_scopes.h — what a representative's portal access opens: the scope names
 * (messages, billing, forms, appointments), which settings module each needs, and
 * a scope list as stored (space-separated, in canonical order) and as JSON. Pure C. */
#ifndef PM_SCOPES_H
#define PM_SCOPES_H

#include <apr_pools.h>
#include <jansson.h>

/* The scope names in canonical order, ended by NULL. */
extern const char *const pm_scope_names[];

/* Whether scope is on under the settings' modules object (NULL: every module on,
 * the default): messages needs messaging, billing statements or payments, forms
 * forms, appointments appointment_requests. */
int pm_scope_enabled(const char *scope, json_t *modules);

/* The stored list of every scope the modules turn on ("" when none). */
const char *pm_scopes_default(apr_pool_t *p, json_t *modules);

/* NULL when v is a JSON array of known scope names without repeats, *stored then
 * its stored form; otherwise a message saying what is wrong. */
const char *pm_scopes_parse(apr_pool_t *p, json_t *v, const char **stored);

/* The first scope of a stored list that modules turn off, or NULL. */
const char *pm_scopes_first_disabled(apr_pool_t *p, const char *stored, json_t *modules);

/* A stored list as a JSON array of names. */
json_t *pm_scopes_json(const char *stored);

#endif
