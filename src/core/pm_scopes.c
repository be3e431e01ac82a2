/* pm_scopes.c — representative access scopes: names, the settings modules they
 * need, and the stored form (space-separated names in canonical order). */
#include "pm_scopes.h"

#include <apr_strings.h>
#include <string.h>

const char *const pm_scope_names[] = { "messages", "billing", "forms", "appointments", NULL };

/* the modules (pm_setting_modules) that turn each scope on; any one is enough */
static const char *const scope_modules[][3] = {
    { "messaging", NULL, NULL },
    { "statements", "payments", NULL },
    { "forms", NULL, NULL },
    { "appointment_requests", NULL, NULL },
};

static int scope_index(const char *name, size_t len)
{
    int i;

    for (i = 0; pm_scope_names[i]; i++) {
        if (strlen(pm_scope_names[i]) == len && strncmp(pm_scope_names[i], name, len) == 0) {
            return i;
        }
    }
    return -1;
}

int pm_scope_enabled(const char *scope, json_t *modules)
{
    int i = scope_index(scope, strlen(scope)), k;
    json_t *on;

    if (i < 0) {
        return 0;
    }
    if (!json_is_object(modules)) {
        return 1;
    }
    for (k = 0; k < 3 && scope_modules[i][k]; k++) {
        on = json_object_get(modules, scope_modules[i][k]);
        if (on == NULL || json_is_true(on)) {          /* absent: its default, on */
            return 1;
        }
    }
    return 0;
}

/* The stored form of a set of scope indexes (bit i: pm_scope_names[i]). */
static const char *stored_of(apr_pool_t *p, unsigned bits)
{
    const char *out = "";
    int i;

    for (i = 0; pm_scope_names[i]; i++) {
        if (bits & (1u << i)) {
            out = *out ? apr_pstrcat(p, out, " ", pm_scope_names[i], NULL) : pm_scope_names[i];
        }
    }
    return out;
}

const char *pm_scopes_default(apr_pool_t *p, json_t *modules)
{
    unsigned bits = 0;
    int i;

    for (i = 0; pm_scope_names[i]; i++) {
        if (pm_scope_enabled(pm_scope_names[i], modules)) {
            bits |= 1u << i;
        }
    }
    return stored_of(p, bits);
}

const char *pm_scopes_parse(apr_pool_t *p, json_t *v, const char **stored)
{
    unsigned bits = 0;
    size_t n;
    json_t *e;
    int i;

    if (!json_is_array(v)) {
        return "must be a list of scope names (messages, billing, forms, appointments)";
    }
    json_array_foreach(v, n, e) {
        if (!json_is_string(e)
            || (i = scope_index(json_string_value(e), strlen(json_string_value(e)))) < 0) {
            return "has an unknown scope (known: messages, billing, forms, appointments)";
        }
        if (bits & (1u << i)) {
            return apr_pstrcat(p, "names ", pm_scope_names[i], " twice", NULL);
        }
        bits |= 1u << i;
    }
    *stored = stored_of(p, bits);
    return NULL;
}

const char *pm_scopes_first_disabled(apr_pool_t *p, const char *stored, json_t *modules)
{
    const char *s = stored ? stored : "", *e;
    const char *name;

    while (*s) {
        e = s + strcspn(s, " ");
        name = apr_pstrmemdup(p, s, (apr_size_t)(e - s));
        if (*name && !pm_scope_enabled(name, modules)) {
            return name;
        }
        s = *e ? e + 1 : e;
    }
    return NULL;
}

json_t *pm_scopes_json(const char *stored)
{
    json_t *a = json_array();
    const char *s = stored ? stored : "", *e;

    while (*s) {
        e = s + strcspn(s, " ");
        if (e > s) {
            json_array_append_new(a, json_stringn(s, (size_t)(e - s)));
        }
        s = *e ? e + 1 : e;
    }
    return a;
}
