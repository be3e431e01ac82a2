/* pm_settings_def.c — the settings table (one row per setting: type, range or
 * length, default, where it is loaded) and what follows from it alone: the defaults,
 * the definitions the admin API hands to the pages, and each value's validation;
 * and one stored value read over the executor, for code without the module's loader. */
#include "pm_settings_def.h"
#include "pm_db.h"
#include "pm_collate.h"
#include "pm_locale.h"
#include "pm_config_parse.h"
#include "pm_image.h"
#include "pm_mail_format.h"
#include "pm_text.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

#define AT(f) offsetof(pm_settings, f)
#define NOT_LOADED PM_SETTING_NOT_LOADED

const pm_setting_def pm_setting_defs[] = {
    /* name, type, min, max, int default, text default, default from, nullable, field */
    { "practice_name", PM_SETTING_TEXT, 1, 200, 0, NULL, "PortalMailFrom", 0,
      AT(practice_name) },
    { "portal_url", PM_SETTING_URL, 0, 0, 0, NULL, "PortalLoginURL", 1, NOT_LOADED },
    { "brand_color", PM_SETTING_COLOR, 0, 7, 0, NULL, NULL, 1, AT(brand_color) },
    { "logo", PM_SETTING_LOGO, 0, 0, 0, NULL, NULL, 1, AT(logo) },
    { "invitation_ttl_hours", PM_SETTING_INT, 1, 720, 168, NULL, NULL, 0,
      AT(invitation_ttl_hours) },
    { "resend_cooldown_minutes", PM_SETTING_INT, 0, 1440, 10, NULL, NULL, 0,
      AT(resend_cooldown_minutes) },
    { "max_sends_per_invitation", PM_SETTING_INT, 1, 20, 5, NULL, NULL, 0,
      AT(max_sends_per_invitation) },
    { "password_min_length", PM_SETTING_INT, 8, 128, 12, NULL, NULL, 0,
      AT(password_min_length) },
    /* the delivery worker sends at most this many emails a minute (a bulk invite's
     * burst stays under the mail provider's rate limit) */
    { "max_emails_per_minute", PM_SETTING_INT, 1, 10000, 120, NULL, NULL, 0,
      AT(max_emails_per_minute) },
    /* the email texts: per language, defaults from the catalogs (pm_catalog.c) */
    { "client_invitation_subject", PM_SETTING_SUBJECT, 1, 200, 0, NULL,
      NULL, 0, AT(client_subject) },
    { "client_invitation_message", PM_SETTING_MESSAGE, 1, 5000, 0, NULL,
      NULL, 0, AT(client_message) },
    { "representative_invitation_subject", PM_SETTING_SUBJECT, 1, 200, 0,
      NULL, NULL, 0, AT(representative_subject) },
    { "representative_invitation_message", PM_SETTING_MESSAGE, 1, 5000, 0,
      NULL, NULL, 0, AT(representative_message) },
    { "modules", PM_SETTING_MODULES, 0, 0, 1, NULL, NULL, 0, NOT_LOADED },
    { "representatives_enabled", PM_SETTING_BOOL, 0, 0, 1, NULL, NULL, 0,
      AT(representatives_enabled) },
    { "collation_locale", PM_SETTING_LOCALE, 0, 0, 0, PM_COLLATE_DEFAULT_LOCALE, NULL, 0,
      AT(collation_locale) },
    /* in every email's footer and on the recipient pages: a number to call */
    { "practice_phone", PM_SETTING_PHONE, 1, 40, 0, NULL, NULL, 1, AT(practice_phone) },
    /* the emails' footer (with the name and phone); line breaks kept */
    { "practice_address", PM_SETTING_LINES, 1, 300, 0, NULL, NULL, 1, AT(practice_address) },
    /* the language of a recipient who has none of their own (pm_locale.c) */
    { "default_language", PM_SETTING_LANGUAGE, 0, 0, 0, "en", NULL, 0, AT(default_language) },
    /* the practice's clock (emails, pages, audit days and CSV, overview, access and review
     * days, the daily notice's hour); null: the server's own time zone */
    { "time_zone", PM_SETTING_TIME_ZONE, 0, 0, 0, NULL, NULL, 1, AT(time_zone) },
    /* coming of age: a minor's representatives' grants are due for review this many
     * days before the 18th birthday; optionally ended on it when nobody reviewed them */
    { "minor_review_days", PM_SETTING_INT, 0, 365, 30, NULL, NULL, 0, AT(minor_review_days) },
    { "end_representative_access_at_majority", PM_SETTING_BOOL, 0, 0, 0, NULL, NULL, 0,
      AT(end_access_at_majority) },
    /* a roster sync's discharge (pm_roster.c) also disables the client's portal
     * accounts; read by whoever runs the sync, not loaded into pm_settings */
    { "disable_accounts_on_discharge", PM_SETTING_BOOL, 0, 0, 0, NULL, NULL, 0, NOT_LOADED },
    /* audit rows younger than this are never pruned (portal-manager-admin audit
     * prune); six years, HIPAA's retention for its documentation, at least */
    { "audit_retention_days", PM_SETTING_INT, 2190, 36500, 2190, NULL, NULL, 0, NOT_LOADED },
    /* staff notices (pm_notices.c) go only to staff the module served a request of
     * within this many days (staff.last_seen_at, migration 030): a safety net for a
     * person removed from the login source but not disabled; 0: no limit */
    { "staff_notice_max_idle_days", PM_SETTING_INT, 0, 3650, 30, NULL, NULL, 0,
      AT(staff_notice_max_idle_days) },
    { NULL, PM_SETTING_TEXT, 0, 0, 0, NULL, NULL, 0, NOT_LOADED }
};

const char *const pm_setting_modules[] = {
    "messaging", "statements", "statement_email_notifications", "appointment_requests",
    "payments", "forms", NULL
};

static const char *const type_names[] = {
    "text", "url", "color", "logo", "integer", "subject", "message", "boolean", "modules",
    "locale", "language", "time_zone", "lines", "phone"
};

const pm_setting_def *pm_setting_find(const char *name)
{
    const pm_setting_def *d;

    for (d = pm_setting_defs; name && d->name; d++) {
        if (strcmp(d->name, name) == 0) {
            return d;
        }
    }
    return NULL;
}

void pm_setting_defaults(pm_settings *st)
{
    const pm_setting_def *d;

    memset(st, 0, sizeof(*st));
    for (d = pm_setting_defs; d->name; d++) {
        char *field = (char *)st + d->field;
        if (d->field == NOT_LOADED) {
            continue;
        }
        if (d->type == PM_SETTING_INT) {
            *(long long *)(void *)field = d->int_default;
        }
        else if (d->type == PM_SETTING_BOOL) {
            *(int *)(void *)field = (int)d->int_default;
        }
        else {
            *(const char **)(void *)field = d->text_default;
        }
    }
}

json_t *pm_setting_default_json(const pm_setting_def *d)
{
    const char *const *m;
    json_t *mods;

    switch (d->type) {
    case PM_SETTING_INT:
        return json_integer(d->int_default);
    case PM_SETTING_BOOL:
        return json_boolean(d->int_default);
    case PM_SETTING_MODULES:
        mods = json_object();
        for (m = pm_setting_modules; *m; m++) {
            json_object_set_new(mods, *m, json_boolean(d->int_default));
        }
        return mods;
    default:
        return d->text_default ? json_string(d->text_default) : json_null();
    }
}

static int has_length(const pm_setting_def *d)
{
    return d->type == PM_SETTING_TEXT || d->type == PM_SETTING_SUBJECT
        || d->type == PM_SETTING_MESSAGE || d->type == PM_SETTING_COLOR
        || d->type == PM_SETTING_LINES || d->type == PM_SETTING_PHONE;
}

json_t *pm_setting_definition(const pm_setting_def *d, json_t *dflt)
{
    json_t *o = json_object(), *keys;
    const char *const *m;

    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "type", json_string(type_names[d->type]));
    if (d->type == PM_SETTING_INT) {
        json_object_set_new(o, "min", json_integer(d->min));
        json_object_set_new(o, "max", json_integer(d->max));
    }
    else if (has_length(d)) {
        json_object_set_new(o, "max_length", json_integer(d->max));
    }
    json_object_set_new(o, "nullable", json_boolean(d->nullable));
    if (pm_setting_per_language(d)) {
        json_object_set_new(o, "per_language", json_true());
    }
    json_object_set_new(o, "default", dflt ? dflt : pm_setting_default_json(d));
    if (d->default_from) {
        json_object_set_new(o, "default_from", json_string(d->default_from));
    }
    if (d->type == PM_SETTING_MODULES) {
        keys = json_array();
        for (m = pm_setting_modules; *m; m++) {
            json_array_append_new(keys, json_string(*m));
        }
        json_object_set_new(o, "keys", keys);
    }
    return o;
}

/* ---- validation ---------------------------------------------------------------------- */

static const char *color_problem(const char *s)
{
    size_t i;

    if (strlen(s) != 7 || s[0] != '#') {
        return "must be a colour written #rrggbb";
    }
    for (i = 1; i < 7; i++) {
        if (!strchr("0123456789abcdefABCDEF", s[i])) {
            return "must be a colour written #rrggbb";
        }
    }
    return NULL;
}

/* PNG or JPEG only (pm_image.c checks bytes, size and dimensions); SVG can carry
 * script and is refused by name. */
static const char *logo_problem(apr_pool_t *p, const char *s)
{
    const unsigned char *bytes;
    apr_size_t len;
    pm_image_info info;

    if (strncmp(s, "data:image/svg", 14) == 0) {
        return "must be a PNG or JPEG image; SVG is not accepted";
    }
    return pm_image_from_data_url(p, s, &bytes, &len, &info);
}

/* {{link}} carries the invitation token: only message bodies may hold it, never a
 * Subject header, which every relay logs. */
static const char *subject_problem(apr_pool_t *p, const char *s)
{
    const char *err = pm_template_problem(p, s, 0);

    if (err == NULL && strstr(s, "{{link}}") != NULL) {
        return "must not contain {{link}}: the link is secret, so it goes only in the message";
    }
    return err;
}

static const char *modules_problem(json_t *v)
{
    const char *key;
    json_t *val;

    if (!json_is_object(v)) {
        return "must be an object of true/false switches";
    }
    json_object_foreach(v, key, val) {
        const char *const *m;
        for (m = pm_setting_modules; *m && strcmp(*m, key); m++) {
        }
        if (*m == NULL) {
            return "has an unknown module (known: messaging, statements, "
                   "statement_email_notifications, appointment_requests, payments, forms)";
        }
        if (!json_is_boolean(val)) {
            return "switches must be true or false";
        }
    }
    return NULL;
}

static const char *text_problem(apr_pool_t *p, json_t *v, size_t max, int newlines)
{
    const char *s;

    if (!json_is_string(v)) {
        return "must be text";
    }
    s = json_string_value(v);
    if (!pm_utf8_valid(s, strlen(s), newlines)) {
        return newlines ? "must be text without control characters"
                        : "must be one line of text without control characters";
    }
    if (pm_utf8_length(s) > max) {
        return apr_psprintf(p, "must be at most %d characters", (int)max);
    }
    /* text with line breaks: only spaces and line breaks is empty too */
    return s[strspn(s, newlines ? " \t\r\n" : " \t")] ? NULL : "must not be empty";
}

/* ---- phone numbers: digits and + ( ) - . / and spaces, PHONE_MIN_DIGITS digits at
 * least, then maybe an extension: "ext. 12", "ext 12", "x12", "extension 12" ---- */

#define PHONE_CHARS      "0123456789 +()-./"
#define PHONE_MIN_DIGITS 7
#define PHONE_PROBLEM    "must be a phone number, such as (555) 010-0100 or +34 912 345 678, " \
                         "optionally with an extension (ext. 12)"

/* the words an extension starts with, in any case; a longer one before its prefix */
static const char *const extension_words[] = { "extension", "ext.", "ext", "x", NULL };

static size_t count_digits(const char *s, size_t n)
{
    size_t i, digits = 0;

    for (i = 0; i < n; i++) {
        digits += s[i] >= '0' && s[i] <= '9';
    }
    return digits;
}

/* Whether s, to its end, is an extension: one of extension_words, spaces, digits. */
static int is_extension(const char *s)
{
    const char *const *w;

    for (w = extension_words; *w; w++) {
        size_t n = strlen(*w);
        if (strncasecmp(s, *w, n) == 0) {
            s += n + strspn(s + n, " ");
            return *s != '\0' && s[strspn(s, "0123456789")] == '\0';
        }
    }
    return 0;
}

static const char *phone_problem(apr_pool_t *p, json_t *v, size_t max)
{
    const char *err = text_problem(p, v, max, 0), *s, *rest;

    if (err) {
        return err;
    }
    s = json_string_value(v);
    rest = s + strspn(s, PHONE_CHARS);            /* the extension, or the end */
    if ((*rest && !is_extension(rest)) || count_digits(s, (size_t)(rest - s)) < PHONE_MIN_DIGITS) {
        return PHONE_PROBLEM;
    }
    return NULL;
}

static const char *url_problem(apr_pool_t *p, json_t *v, int allow_insecure)
{
    const char *err;
    int https = 0;

    if (!json_is_string(v)) {
        return "must be a URL";
    }
    if ((err = pm_parse_web_url(p, json_string_value(v), &https)) != NULL) {
        return err;
    }
    return (https || allow_insecure) ? NULL : "must be an https:// URL";
}

static const char *int_problem(apr_pool_t *p, const pm_setting_def *d, json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < d->min || json_integer_value(v) > d->max) {
        return apr_psprintf(p, "must be a whole number from %d to %d", (int)d->min, (int)d->max);
    }
    return NULL;
}

int pm_setting_per_language(const pm_setting_def *d)
{
    return d->type == PM_SETTING_SUBJECT || d->type == PM_SETTING_MESSAGE;
}

const char *pm_setting_catalog_key(apr_pool_t *p, const pm_setting_def *d)
{
    const char *cut = strstr(d->name, "_invitation_");

    return cut ? apr_pstrcat(p, apr_pstrndup(p, d->name, (apr_size_t)(cut - d->name)),
                             cut + strlen("_invitation"), NULL)
               : d->name;
}

json_t *pm_setting_by_language(json_t *v)
{
    json_t *out = json_object(), *text;
    const char *lang;

    if (json_is_string(v)) {
        json_object_set(out, "en", v);
    }
    json_object_foreach(json_is_object(v) ? v : NULL, lang, text) {
        if (json_is_string(text)) {
            json_object_set(out, lang, text);
        }
    }
    return out;
}

/* One language's email text. */
static const char *template_problem(apr_pool_t *p, const pm_setting_def *d, json_t *v)
{
    const char *err = text_problem(p, v, (size_t)d->max, d->type == PM_SETTING_MESSAGE);

    if (err) {
        return err;
    }
    return d->type == PM_SETTING_SUBJECT ? subject_problem(p, json_string_value(v))
                                         : pm_template_problem(p, json_string_value(v), 1);
}

/* Every language's text (null: back to the catalog's), or one English string. */
static const char *per_language_problem(apr_pool_t *p, const pm_setting_def *d, json_t *v)
{
    const char *lang, *err;
    json_t *text;

    if (json_is_string(v)) {
        return template_problem(p, d, v);
    }
    if (!json_is_object(v)) {
        return "must be an object of texts by language, such as {\"es\": \"...\"}";
    }
    json_object_foreach(v, lang, text) {
        if (!pm_language_known(lang)) {
            return apr_psprintf(p, "has a language without a catalog: %s (known: %s)",
                                pm_utf8_head(p, lang, 20),
                                pm_languages_text(p));
        }
        if (!json_is_null(text) && (err = template_problem(p, d, text)) != NULL) {
            return apr_psprintf(p, "[%s] %s", lang, err);
        }
    }
    return NULL;
}

const char *pm_setting_problem(apr_pool_t *p, const pm_setting_def *d, json_t *v,
                               int allow_insecure_urls)
{
    switch (d->type) {
    case PM_SETTING_TEXT:
        return text_problem(p, v, (size_t)d->max, 0);
    case PM_SETTING_LINES:
        return text_problem(p, v, (size_t)d->max, 1);
    case PM_SETTING_PHONE:
        return phone_problem(p, v, (size_t)d->max);
    case PM_SETTING_URL:
        return url_problem(p, v, allow_insecure_urls);
    case PM_SETTING_COLOR:
        return json_is_string(v) ? color_problem(json_string_value(v)) : "must be text";
    case PM_SETTING_LOGO:
        return json_is_string(v) ? logo_problem(p, json_string_value(v)) : "must be text";
    case PM_SETTING_INT:
        return int_problem(p, d, v);
    case PM_SETTING_SUBJECT:
    case PM_SETTING_MESSAGE:
        return per_language_problem(p, d, v);
    case PM_SETTING_BOOL:
        return json_is_boolean(v) ? NULL : "must be true or false";
    case PM_SETTING_MODULES:
        return modules_problem(v);
    case PM_SETTING_LOCALE:
        return json_is_string(v) && pm_collate_locale_known(json_string_value(v)) ? NULL
               : "must be a locale ICU knows, such as en, fr_CA, sv or el";
    case PM_SETTING_LANGUAGE:
        return json_is_string(v) && pm_language_known(json_string_value(v)) ? NULL
               : apr_psprintf(p, "must be a language the portal has a catalog for (%s)",
                              pm_languages_text(p));
    case PM_SETTING_TIME_ZONE:
        return json_is_string(v) && pm_time_zone_known(json_string_value(v)) ? NULL
               : "must be an IANA time zone name, such as America/Chicago or Europe/Madrid";
    }
    return "is not a setting";
}

apr_status_t pm_setting_stored(pm_db *db, const char *name, const char **json)
{
    apr_array_header_t *rows;
    int i;

    *json = NULL;
    if (pm_db_select(db, PM_SQL_SETTINGS_ALL, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        const char *n = pm_row_str(r, SETTING_NAME);

        if (n && strcmp(n, name) == 0) {
            *json = pm_row_str(r, SETTING_VALUE);
        }
    }
    return APR_SUCCESS;
}
