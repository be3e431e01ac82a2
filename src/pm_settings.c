/* pm_settings.c — loading portal settings: each row's value is JSON; unknown
 * names are ignored here (the admin API validates what it stores), and so is a
 * logo that is not a valid PNG or JPEG (an SVG stored before those were refused). */
#include "pm_settings.h"
#include "pm_collate.h"
#include "pm_image.h"
#include "pm_json.h"
#include "pm_mail_format.h"

APLOG_USE_MODULE(portal_manager);

static void set_defaults(pm_settings *st)
{
    memset(st, 0, sizeof(*st));
    st->invitation_ttl_hours = 168;
    st->resend_cooldown_minutes = 10;
    st->max_sends_per_invitation = 5;
    st->password_min_length = 12;
    st->representatives_enabled = 1;
    st->collation_locale = PM_COLLATE_DEFAULT_LOCALE;
}

static void apply_string(json_t *v, const char **field, apr_pool_t *p)
{
    if (json_is_string(v) && json_string_length(v) > 0) {
        *field = apr_pstrdup(p, json_string_value(v));
    }
}

/* Only a logo pm_image accepts reaches the emails and the preview. */
static void apply_logo(json_t *v, const char **field, apr_pool_t *p)
{
    const unsigned char *bytes;
    apr_size_t len;
    pm_image_info info;

    if (json_is_string(v)
        && pm_image_from_data_url(p, json_string_value(v), &bytes, &len, &info) == NULL) {
        *field = apr_pstrdup(p, json_string_value(v));
    }
}

static void apply_int(json_t *v, long long *field)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *field = (long long)json_integer_value(v);
    }
}

static void apply_row(pm_settings *st, apr_pool_t *p, const char *name, json_t *v)
{
    if (strcmp(name, "practice_name") == 0) apply_string(v, &st->practice_name, p);
    else if (strcmp(name, "practice_phone") == 0) apply_string(v, &st->practice_phone, p);
    else if (strcmp(name, "brand_color") == 0) apply_string(v, &st->brand_color, p);
    else if (strcmp(name, "logo") == 0) apply_logo(v, &st->logo, p);
    else if (strcmp(name, "invitation_ttl_hours") == 0) apply_int(v, &st->invitation_ttl_hours);
    else if (strcmp(name, "resend_cooldown_minutes") == 0) apply_int(v, &st->resend_cooldown_minutes);
    else if (strcmp(name, "max_sends_per_invitation") == 0) apply_int(v, &st->max_sends_per_invitation);
    else if (strcmp(name, "password_min_length") == 0) apply_int(v, &st->password_min_length);
    else if (strcmp(name, "client_invitation_subject") == 0) apply_string(v, &st->client_subject, p);
    else if (strcmp(name, "client_invitation_message") == 0) apply_string(v, &st->client_message, p);
    else if (strcmp(name, "representative_invitation_subject") == 0)
        apply_string(v, &st->representative_subject, p);
    else if (strcmp(name, "representative_invitation_message") == 0)
        apply_string(v, &st->representative_message, p);
    else if (strcmp(name, "collation_locale") == 0) apply_string(v, &st->collation_locale, p);
    else if (strcmp(name, "representatives_enabled") == 0 && json_is_boolean(v))
        st->representatives_enabled = json_is_true(v);
}

apr_status_t pm_settings_load(pm_db *db, apr_pool_t *p, pm_settings *out)
{
    apr_array_header_t *rows;
    int i;

    set_defaults(out);
    if (pm_db_select(db, PM_SQL_SETTINGS_ALL, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        const char *name = pm_row_str(row, SETTING_NAME), *text = pm_row_str(row, SETTING_VALUE);
        json_t *v;
        if (name == NULL || text == NULL) {
            continue;
        }
        v = json_loads(text, JSON_DECODE_ANY, NULL);
        if (v) {
            apply_row(out, p, name, v);
            json_decref(v);
        }
    }
    return APR_SUCCESS;
}

void pm_settings_templates(const pm_settings *st, const char *kind,
                           const char **subject, const char **message)
{
    int rep = strcmp(kind, "representative") == 0;
    const char *s = rep ? st->representative_subject : st->client_subject;
    const char *m = rep ? st->representative_message : st->client_message;

    *subject = s ? s : pm_default_subject(kind);
    *message = m ? m : pm_default_message(kind);
}

const char *pm_settings_practice_name(const pm_settings *st, const pm_server_conf *conf)
{
    if (st->practice_name) {
        return st->practice_name;
    }
    if (conf->mail_from_name && *conf->mail_from_name) {
        return conf->mail_from_name;
    }
    return "Your practice";
}
