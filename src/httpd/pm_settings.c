/* pm_settings.c — loading portal settings over their defaults (pm_settings_def.c):
 * each row's value is JSON; unknown names are ignored here (the admin API validates
 * what it stores), and so is a logo that is not a valid PNG or JPEG (an SVG stored
 * before those were refused). */
#include "pm_settings.h"
#include "pm_catalog.h"
#include "pm_config.h"
#include "pm_image.h"
#include "pm_locale.h"
#include "pm_json.h"
#include "pm_mail_format.h"

APLOG_USE_MODULE(portal_manager);

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

/* An email text per language, kept as the JSON text of {"language": "text"}. */
static void apply_by_language(json_t *v, const char **field, apr_pool_t *p)
{
    json_t *texts = pm_json_pool(p, pm_setting_by_language(v));

    *field = json_object_size(texts) ? pm_json_text(p, texts) : NULL;
}

static void apply_int(json_t *v, long long *field)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *field = (long long)json_integer_value(v);
    }
}

/* Each row into the field its definition names (rows that no field holds, such as
 * portal_url or modules, are read where they are used). */
static void apply_row(pm_settings *st, apr_pool_t *p, const pm_setting_def *d, json_t *v)
{
    void *field = (char *)st + d->field;

    switch (d->type) {
    case PM_SETTING_INT:
        apply_int(v, field);
        break;
    case PM_SETTING_BOOL:
        if (json_is_boolean(v)) {
            *(int *)field = json_is_true(v);
        }
        break;
    case PM_SETTING_LOGO:
        apply_logo(v, field, p);
        break;
    case PM_SETTING_SUBJECT:
    case PM_SETTING_MESSAGE:
        apply_by_language(v, field, p);
        break;
    default:
        apply_string(v, field, p);
    }
}

apr_status_t pm_settings_load(pm_db *db, apr_pool_t *p, pm_settings *out)
{
    apr_array_header_t *rows;
    int i;

    pm_setting_defaults(out);
    if (pm_db_select(db, PM_SQL_SETTINGS_ALL, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        const pm_setting_def *d = pm_setting_find(pm_row_str(row, SETTING_NAME));
        const char *text = pm_row_str(row, SETTING_VALUE);
        json_t *v;
        if (d == NULL || d->field == PM_SETTING_NOT_LOADED || text == NULL) {
            continue;
        }
        v = json_loads(text, JSON_DECODE_ANY, NULL);
        if (v) {
            apply_row(out, p, d, v);
            json_decref(v);
        }
    }
    return APR_SUCCESS;
}

/* The practice's own text for lang in a per-language field, or NULL. */
static const char *own_text(apr_pool_t *p, const char *field, const char *lang)
{
    json_t *texts = field ? json_loads(field, 0, NULL) : NULL;
    json_t *text = json_object_get(texts, lang);
    const char *out = json_is_string(text) ? apr_pstrdup(p, json_string_value(text)) : NULL;

    json_decref(texts);
    return out;
}

const char *pm_settings_catalog_text(const char *lang, const char *key)
{
    const pm_catalog *c = pm_config_catalog();
    const char *t = c ? pm_catalog_text(c, lang, "email", key) : NULL;

    return t ? t : "";
}

void pm_settings_templates(apr_pool_t *p, const pm_settings *st, const char *kind,
                           const char *lang, const char **subject, const char **message)
{
    int rep = strcmp(kind, "representative") == 0;
    int reset = strcmp(kind, "reset") == 0;   /* no setting: always the catalog's text */
    const char *s = reset ? NULL
                    : own_text(p, rep ? st->representative_subject : st->client_subject, lang);
    const char *m = reset ? NULL
                    : own_text(p, rep ? st->representative_message : st->client_message, lang);

    *subject = s ? s : pm_settings_catalog_text(lang, apr_pstrcat(p, kind, "_subject", NULL));
    *message = m ? m : pm_settings_catalog_text(lang, apr_pstrcat(p, kind, "_message", NULL));
}

json_t *pm_settings_default_texts(const pm_setting_def *d, apr_pool_t *p)
{
    const char *key = pm_setting_catalog_key(p, d);
    const char *const *l;
    json_t *o = json_object();

    for (l = pm_languages(); *l; l++) {
        pm_json_set_str(o, *l, pm_settings_catalog_text(*l, key));
    }
    return o;
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

const char *pm_settings_from_name(const pm_settings *st, const pm_server_conf *conf)
{
    if (conf->mail_from_name && *conf->mail_from_name) {
        return conf->mail_from_name;
    }
    return st->practice_name ? st->practice_name : "";
}
