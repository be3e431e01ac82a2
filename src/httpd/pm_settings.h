/* pm_settings.h — the portal settings champions manage (docs/configuration.md), read from
 * the settings table over the defaults of pm_settings_def.c for anything unset. */
#ifndef PM_SETTINGS_H
#define PM_SETTINGS_H

#include "pm_settings_def.h"
#include "pm_store.h"

/* Defaults, then every row of the settings table over them. */
apr_status_t pm_settings_load(pm_db *db, apr_pool_t *p, pm_settings *out);

/* practice_name, else the PortalMailFrom display name, else "Your practice". */
const char *pm_settings_practice_name(const pm_settings *st, const pm_server_conf *conf);

/* Subject and message template for a kind of email ("client", "representative")
 * in language lang: the practice's own text for lang, else the catalog's
 * (email.<kind>_subject, email.<kind>_message). */
void pm_settings_templates(apr_pool_t *p, const pm_settings *st, const char *kind,
                           const char *lang, const char **subject, const char **message);

/* A fixed text of the emails in lang (catalog section "email"; "" when missing). */
const char *pm_settings_catalog_text(const char *lang, const char *key);

/* A per-language setting's defaults, {"en": ..., "es": ...} (new reference). */
json_t *pm_settings_default_texts(const pm_setting_def *d, apr_pool_t *p);

/* The From display name: PortalMailFrom's when it names one (the directive wins),
 * else the practice_name setting (a rename shows at once), else none. */
const char *pm_settings_from_name(const pm_settings *st, const pm_server_conf *conf);

#endif
