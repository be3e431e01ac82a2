/* pm_settings.h — the portal settings champions manage (docs/configuration.md), read from
 * the settings table with built-in defaults for anything unset. */
#ifndef PM_SETTINGS_H
#define PM_SETTINGS_H

#include "pm_store.h"

typedef struct {
    const char *practice_name;          /* NULL: the PortalMailFrom display name */
    const char *brand_color;            /* "#rrggbb" or NULL */
    const char *logo;                   /* data:image/png|jpeg;base64,... (checked) or NULL */
    long long invitation_ttl_hours;
    long long resend_cooldown_minutes;
    long long max_sends_per_invitation;
    long long password_min_length;
    const char *client_subject, *client_message;
    const char *representative_subject, *representative_message;
    int representatives_enabled;
    const char *collation_locale;       /* ICU locale of the client list's order */
    const char *practice_phone;         /* NULL: none shown */
} pm_settings;

/* Defaults, then every row of the settings table over them. */
apr_status_t pm_settings_load(pm_db *db, apr_pool_t *p, pm_settings *out);

/* practice_name, else the PortalMailFrom display name, else "Your practice". */
const char *pm_settings_practice_name(const pm_settings *st, const pm_server_conf *conf);

/* Subject and message template for a recipient kind ("client"/"representative"). */
void pm_settings_templates(const pm_settings *st, const char *kind,
                           const char **subject, const char **message);

#endif
