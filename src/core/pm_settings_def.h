/* pm_settings_def.h — the one list of portal settings (docs/configuration.md): each one's name,
 * type, range or length, default, whether it may be empty, and the pm_settings field
 * that holds it once loaded. The loader, the admin API (validation and the definitions
 * it returns to the pages) and, through pm-settings-json, the browser tests' stand-in
 * server all read this table. httpd-free (libpmcore). */
#ifndef PM_SETTINGS_DEF_H
#define PM_SETTINGS_DEF_H

#include <stddef.h>
#include <apr_pools.h>
#include <jansson.h>

/* The settings the module reads at run time (pm_settings.c loads them). */
typedef struct {
    const char *practice_name;          /* NULL: the PortalMailFrom display name */
    const char *brand_color;            /* "#rrggbb" or NULL */
    const char *logo;                   /* data:image/png|jpeg;base64,... (checked) or NULL */
    long long invitation_ttl_hours;
    long long resend_cooldown_minutes;
    long long max_sends_per_invitation;
    long long password_min_length;
    long long max_emails_per_minute;    /* the delivery worker's pace */
    /* the email texts per language: a JSON object's text {"es": "..."} (only the
     * languages the practice wrote its own for), NULL: the catalogs' */
    const char *client_subject, *client_message;
    const char *representative_subject, *representative_message;
    int representatives_enabled;
    const char *collation_locale;       /* ICU locale of the client list's order */
    const char *practice_phone;         /* NULL: none shown */
    const char *practice_address;       /* the emails' footer, may hold line breaks; NULL: none */
    const char *default_language;       /* recipients without a language of their own */
    const char *time_zone;              /* IANA name; NULL: the server's own zone */
    long long minor_review_days;        /* a representative's grant is due for review
                                         * this many days before the client turns 18 */
    int end_access_at_majority;         /* the worker ends unreviewed grants at 18 */
    long long staff_notice_max_idle_days; /* notices only to staff seen within this
                                         * many days (staff.last_seen_at); 0: no limit */
} pm_settings;

typedef enum {
    PM_SETTING_TEXT, PM_SETTING_URL, PM_SETTING_COLOR, PM_SETTING_LOGO, PM_SETTING_INT,
    PM_SETTING_SUBJECT, PM_SETTING_MESSAGE, PM_SETTING_BOOL, PM_SETTING_MODULES,
    PM_SETTING_LOCALE, PM_SETTING_LANGUAGE, PM_SETTING_TIME_ZONE,
    PM_SETTING_LINES,                   /* text that may hold line breaks */
    PM_SETTING_PHONE                    /* one line: a phone number, maybe an extension */
} pm_setting_type;

#define PM_SETTING_NOT_LOADED ((size_t)-1)

typedef struct {
    const char *name;               /* the settings table row and the API's member */
    pm_setting_type type;
    long long min, max;             /* integers: the range; text: max = most characters */
    long long int_default;          /* integers and true/false */
    const char *text_default;       /* text types: NULL = none */
    const char *default_from;       /* a directive that gives the default instead, or NULL */
    int nullable;                   /* may have no value at all (null) */
    size_t field;                   /* offsetof(pm_settings, ...) or PM_SETTING_NOT_LOADED */
} pm_setting_def;

/* Every setting, ended by { NULL }; the portal modules the "modules" switches name. */
extern const pm_setting_def pm_setting_defs[];
extern const char *const pm_setting_modules[];

const pm_setting_def *pm_setting_find(const char *name);

/* Every loaded field at its default (NULL where the default comes from a directive). */
void pm_setting_defaults(pm_settings *st);

/* The stored JSON text of setting `name` (*json NULL when the table has no row), for
 * code that does not load all settings (the admin tool, the roster sync). */
struct pm_db;
apr_status_t pm_setting_stored(struct pm_db *db, const char *name, const char **json);

/* The default as JSON (new reference); null where it comes from a directive. */
json_t *pm_setting_default_json(const pm_setting_def *d);

/* {name, type, min, max | max_length, nullable, default, default_from?, keys?}
 * (new reference), default as pm_setting_default_json unless given (stolen). */
json_t *pm_setting_definition(const pm_setting_def *d, json_t *dflt);

/* Whether d is an email text written per language (subject or message). */
int pm_setting_per_language(const pm_setting_def *d);

/* The catalog key of a per-language setting's default: "client_subject" for
 * client_invitation_subject (pm_catalog.h, section "email"). */
const char *pm_setting_catalog_key(apr_pool_t *p, const pm_setting_def *d);

/* A per-language value as stored (new reference): an object without null members;
 * a plain string (the form before languages) is the English text {"en": s}. */
json_t *pm_setting_by_language(json_t *v);

/* Why v (not null) cannot be this setting's value, or NULL when it can. A
 * per-language setting takes an object {language: text or null} whose keys are
 * known languages (pm_locale.h), each text checked alone, or a string (English). */
const char *pm_setting_problem(apr_pool_t *p, const pm_setting_def *d, json_t *v,
                               int allow_insecure_urls);

#endif
