/* settings_json.c — pm-settings-json: prints the portal settings' definitions
 * (pm_settings_def.c) as JSON, the same objects GET /admin/settings?include=definitions
 * returns, with the table's defaults. The build writes them to
 * settings-definitions.json for the browser tests' stand-in server. */
#include "pm_settings_def.h"

#include <stdio.h>

int main(void)
{
    json_t *defs = json_array();
    const pm_setting_def *d;
    int rc;

    for (d = pm_setting_defs; d->name; d++) {
        json_array_append_new(defs, pm_setting_definition(d, NULL));
    }
    rc = json_dumpf(defs, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF ? 0 : 1;
    json_decref(defs);
    return rc;
}
