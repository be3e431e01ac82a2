/* settings_json.c — pm-settings-json [CATALOG-DIR]: prints the portal settings'
 * definitions (pm_settings_def.c) as JSON, the same objects GET
 * /admin/settings?include=definitions returns, with the table's defaults (the email
 * texts' from the catalogs). The build writes them to settings-definitions.json for
 * the browser tests' stand-in server. */
#include "pm_catalog.h"
#include "pm_locale.h"
#include "pm_settings_def.h"

#include <apr_general.h>
#include <stdio.h>

/* {"en": ..., "es": ...}: an email text's defaults, as the module gives them. */
static json_t *catalog_defaults(apr_pool_t *p, const pm_catalog *c, const pm_setting_def *d)
{
    json_t *o = json_object();
    const char *const *l;

    for (l = pm_catalog_languages(c); *l; l++) {
        const char *t = pm_catalog_text(c, *l, "email", pm_setting_catalog_key(p, d));
        json_object_set_new(o, *l, json_string(t ? t : ""));
    }
    return o;
}

int main(int argc, char **argv)
{
    json_t *defs = json_array();
    const pm_setting_def *d;
    pm_catalog *c = NULL;
    apr_pool_t *p;
    const char *err;
    int rc;

    apr_initialize();
    apr_pool_create(&p, NULL);
    if (argc > 1 && (err = pm_catalog_load(p, argv[1], &c)) != NULL) {
        fprintf(stderr, "pm-settings-json: %s\n", err);
        apr_pool_destroy(p);
        apr_terminate();
        return 1;
    }
    if (c) {
        pm_languages_use(pm_catalog_languages(c));
    }
    for (d = pm_setting_defs; d->name; d++) {
        json_array_append_new(defs, pm_setting_definition(d, c && pm_setting_per_language(d)
                                                          ? catalog_defaults(p, c, d) : NULL));
    }
    rc = json_dumpf(defs, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF ? 0 : 1;
    json_decref(defs);
    apr_pool_destroy(p);            /* the catalogs' JSON with it (a pool cleanup) */
    apr_terminate();
    return rc;
}
