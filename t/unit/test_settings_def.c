/* Unit tests for the settings table (src/core/pm_settings_def.c): names unique and found,
 * every default inside its own range and accepted by its own validation, the loaded
 * defaults equal to the table's, the per-language texts' and the phone number's rules,
 * and the definitions' JSON shape. */
#include "pm_settings_def.h"
#include "pm_locale.h"
#include "tap.h"

#include <apr_general.h>
#include <stdlib.h>

static void test_names(void)
{
    const pm_setting_def *d, *e;
    int dup = 0, n = 0;

    for (d = pm_setting_defs; d->name; d++, n++) {
        for (e = d + 1; e->name; e++) {
            dup |= strcmp(d->name, e->name) == 0;
        }
        ok(pm_setting_find(d->name) == d, "%s found", d->name);
    }
    ok(!dup, "names unique");
    ok(n == 25, "25 settings (%d)", n);
    ok(pm_setting_find("definitions") == NULL && pm_setting_find(NULL) == NULL,
       "unknown names not found");
}

/* Would PUT accept the integer n for this setting? */
static int int_accepted(apr_pool_t *p, const pm_setting_def *d, long long n)
{
    json_t *v = json_integer(n);
    int accepted = pm_setting_problem(p, d, v, 0) == NULL;

    json_decref(v);
    return accepted;
}

/* A default that is not null must be a value PUT would accept. */
static void test_defaults_valid(apr_pool_t *p)
{
    const pm_setting_def *d;

    for (d = pm_setting_defs; d->name; d++) {
        json_t *v = pm_setting_default_json(d);
        const char *err = json_is_null(v) ? NULL : pm_setting_problem(p, d, v, 0);
        ok(err == NULL, "%s: the default is valid (%s)", d->name, err ? err : "ok");
        ok(!json_is_null(v) || d->nullable || d->default_from || pm_setting_per_language(d),
           "%s: a null default only where null is allowed or a directive or the catalogs "
           "give it", d->name);
        if (d->type == PM_SETTING_INT) {
            ok(d->min <= d->int_default && d->int_default <= d->max, "%s: default in range",
               d->name);
            ok(int_accepted(p, d, d->max) && !int_accepted(p, d, d->max + 1)
               && int_accepted(p, d, d->min) && !int_accepted(p, d, d->min - 1),
               "%s: min and max accepted, min-1 and max+1 refused", d->name);
        }
        json_decref(v);
    }
}

static void test_loaded_defaults(void)
{
    pm_settings st;

    pm_setting_defaults(&st);
    ok(st.invitation_ttl_hours == 168 && st.resend_cooldown_minutes == 10
       && st.max_sends_per_invitation == 5 && st.password_min_length == 12
       && st.max_emails_per_minute == 120,
       "integer defaults 168, 10, 5, 12, 120");
    ok(st.representatives_enabled == 1, "representatives on");
    is_str(st.collation_locale, "en", "collation_locale en");
    is_str(st.default_language, "en", "default_language en");
    ok(st.time_zone == NULL, "time_zone: the server's own");
    ok(st.practice_name == NULL && st.practice_phone == NULL && st.brand_color == NULL
       && st.logo == NULL, "no practice name (PortalMailFrom), phone, colour or logo");
    ok(st.client_subject == NULL && st.representative_message == NULL,
       "no email texts of the practice's own: the catalogs' (pm_catalog.c)");
}

/* The practice's clock: the setting, else the server's zone (ICU reads TZ the first
 * time it is asked, which is here). */
static void test_time_zone_name(void)
{
    char buf[64];

    setenv("TZ", "America/Chicago", 1);
    is_str(pm_time_zone_name("Europe/Madrid", buf, sizeof(buf)), "Europe/Madrid",
           "time zone: the setting when set");
    is_str(pm_time_zone_name(NULL, buf, sizeof(buf)), "America/Chicago",
           "time zone: else the server's (TZ)");
    is_str(pm_time_zone_name(NULL, buf, 4), "UTC", "time zone: UTC when the name does not fit");
}

static void test_practice_zone(apr_pool_t *p)
{
    int fallback = -1;

    setenv("TZ", "America/Chicago", 1);
    is_str(pm_practice_zone(p, "Europe/Madrid", &fallback), "Europe/Madrid",
           "practice zone: the setting when ICU knows it");
    ok(fallback == 0, "practice zone: no fallback for a known zone");
    is_str(pm_practice_zone(p, NULL, &fallback), "America/Chicago",
           "practice zone: the server's when unset");
    is_str(pm_practice_zone(p, "Etc/UTC", &fallback), "Etc/UTC", "practice zone: Etc/UTC");
    ok(fallback == 0, "practice zone: Etc/UTC is known");
    is_str(pm_practice_zone(p, "UTC", &fallback), "UTC", "practice zone: UTC");
    ok(fallback == 0, "practice zone: UTC is known, not a fallback");
    is_str(pm_practice_zone(p, "Mars/Olympus_Mons", &fallback), "UTC",
           "practice zone: UTC for a name ICU cannot count days in");
    ok(fallback == 1, "practice zone: the fallback is said");
}

static void test_language_and_zone(apr_pool_t *p)
{
    const pm_setting_def *lang = pm_setting_find("default_language");
    const pm_setting_def *zone = pm_setting_find("time_zone");
    json_t *v;

    v = json_string("es");
    ok(pm_setting_problem(p, lang, v, 0) == NULL, "default_language es");
    json_decref(v);
    v = json_string("fr");
    ok(pm_setting_problem(p, lang, v, 0) != NULL, "default_language fr: no catalog, refused");
    json_decref(v);
    v = json_string("America/Chicago");
    ok(pm_setting_problem(p, zone, v, 0) == NULL, "time_zone America/Chicago");
    json_decref(v);
    v = json_string("Mars/Olympus_Mons");
    ok(pm_setting_problem(p, zone, v, 0) != NULL, "time_zone Mars/Olympus_Mons refused");
    json_decref(v);
    v = json_string("America/Chicago\nX");
    ok(pm_setting_problem(p, zone, v, 0) != NULL, "a time zone with a line break refused");
    json_decref(v);
    is_str(pm_recipient_language("es", "en"), "es", "a recipient's own language first");
    is_str(pm_recipient_language(NULL, "es"), "es", "else the practice's default");
    is_str(pm_recipient_language("xx", "yy"), "en", "else English");
    test_time_zone_name();
}

/* Would PUT accept this JSON for setting name? */
static int accepted(apr_pool_t *p, const char *name, const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    int yes = v && pm_setting_problem(p, pm_setting_find(name), v, 0) == NULL;

    json_decref(v);
    return yes;
}

static void test_per_language(apr_pool_t *p)
{
    const pm_setting_def *s = pm_setting_find("client_invitation_subject");
    json_t *v = json_loads("{\"es\": \"{{link}}\"}", 0, NULL), *o;
    const char *err = pm_setting_problem(p, s, v, 0);

    ok(pm_setting_per_language(s) && !pm_setting_per_language(pm_setting_find("practice_name")),
       "the email texts are per language");
    is_str(pm_setting_catalog_key(p, s), "client_subject", "catalog key client_subject");
    is_str(pm_setting_catalog_key(p, pm_setting_find("representative_invitation_message")),
           "representative_message", "catalog key representative_message");
    ok(err && strncmp(err, "[es] must not contain {{link}}", 30) == 0,
       "a Spanish subject with {{link}} refused, the language named (%s)", err ? err : "NULL");
    json_decref(v);
    v = json_loads("{\"en\": \"{{link}}\", \"es\": \"Sin enlace\"}", 0, NULL);
    err = pm_setting_problem(p, pm_setting_find("client_invitation_message"), v, 0);
    is_str(err, "[es] must contain {{link}}, where the invitation link goes",
           "a Spanish message without {{link}}: the language, then what {{link}} is for");
    json_decref(v);
    ok(accepted(p, "client_invitation_subject", "{\"es\": \"Hola {{practice_name}}\", "
                "\"en\": null}"), "es text, en back to the catalog's");
    ok(accepted(p, "client_invitation_subject", "\"English {{practice_name}}\""),
       "a plain string (English) still accepted");
    ok(!accepted(p, "client_invitation_subject", "{\"fr\": \"Bonjour\"}"),
       "a language without a catalog refused");
    {
        /* a language key of 'a' + 10 x 'é' (21 bytes) was quoted cut at byte 20 */
        json_t *lv = json_loads("{\"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\": \"x\"}",
                                0, NULL);
        const char *lerr = lv ? pm_setting_problem(p, pm_setting_find("client_invitation_subject"),
                                                   lv, 0) : NULL;

        json_t *shown = lerr ? json_string(lerr) : NULL;   /* NULL: not UTF-8 */

        ok(shown && strstr(lerr, "catalog: a\xC3\xA9\xC3\xA9"),
           "an unknown language's key quoted by characters: valid UTF-8 (%s)", lerr ? lerr : "-");
        json_decref(shown);
        json_decref(lv);
    }
    ok(!accepted(p, "client_invitation_message", "{\"es\": \"Sin enlace\"}"),
       "a Spanish message without {{link}} refused");
    ok(!accepted(p, "client_invitation_message", "[\"x\"]"), "an array refused");
    v = json_string("Hi");
    o = pm_setting_by_language(v);
    is_str(json_string_value(json_object_get(o, "en")), "Hi", "a string is stored as en");
    json_decref(o);
    json_decref(v);
    v = json_loads("{\"en\": null, \"es\": \"Hola\"}", 0, NULL);
    o = pm_setting_by_language(v);
    ok(json_object_size(o) == 1 && json_object_get(o, "es"), "null members dropped");
    json_decref(o);
    json_decref(v);
}

static void test_practice_address(apr_pool_t *p)
{
    const pm_setting_def *d = pm_setting_find("practice_address");
    json_t *v;
    char long_text[302];

    v = json_string("12 Main St\r\nSuite 4\nSpringfield, IL 62701");
    ok(d && d->type == PM_SETTING_LINES && d->nullable
       && pm_setting_problem(p, d, v, 0) == NULL, "practice_address: line breaks allowed");
    json_decref(v);
    memset(long_text, 'x', 301);
    long_text[301] = '\0';
    v = json_string(long_text);
    ok(d && pm_setting_problem(p, d, v, 0) != NULL, "practice_address: 301 characters refused");
    json_decref(v);
    v = json_string("Main St\x07");
    ok(d && pm_setting_problem(p, d, v, 0) != NULL, "practice_address: control characters refused");
    json_decref(v);
}

/* A phone number: digits and + ( ) - . / and spaces with 7 digits at least, then
 * optionally an extension ("ext. 12", "ext 12", "x12", "extension 12"). */
static void test_phone(apr_pool_t *p)
{
    static const char *const good[] = {
        "(555) 010-0100", "+34 912 345 678", "+44 20 7946 0958", "555.010.0100",
        "0800/123 4567", "5550100", "+1 (555) 010-0100 ext. 12", "(555) 010-0100 ext 12",
        "555-010-0100 x12", "555-010-0100x12", "+34 912 345 678 extension 12",
        "(555) 010-0100 EXT. 345", "+1 (555) 010-0100 extension 123456789012", NULL
    };
    static const char *const bad[] = {
        "call us maybe", "12345", "123456", "555-CALL-NOW", "Tel: 555 010 0100",
        "12345 ext. 678", "(555) 010-0100 ext.", "(555) 010-0100 ext. twelve",
        "555 010 0100 #12", "x12 555 010 0100", "555 010 0100 ext 12 x3",
        "+1 (555) 010-0100 extension 1234567890123", "555\n010 0100", "   ", NULL
    };
    const pm_setting_def *d = pm_setting_find("practice_phone");
    const char *const *s;
    json_t *v;
    const char *err;

    ok(d && d->max == 40 && d->nullable, "practice_phone: at most 40 characters, nullable");
    for (s = good; d && *s; s++) {
        v = json_string(*s);
        err = pm_setting_problem(p, d, v, 0);
        ok(err == NULL, "phone '%s' accepted (%s)", *s, err ? err : "ok");
        json_decref(v);
    }
    for (s = bad; d && *s; s++) {
        v = json_string(*s);
        ok(pm_setting_problem(p, d, v, 0) != NULL, "phone '%s' refused", *s);
        json_decref(v);
    }
    v = json_string("call us maybe");
    err = d ? pm_setting_problem(p, d, v, 0) : NULL;
    is_str(err, "must be a phone number, such as (555) 010-0100 or +34 912 345 678, "
           "optionally with an extension (ext. 12)", "the phone's refusal gives examples");
    json_decref(v);
    v = json_integer(5550100);
    ok(d && pm_setting_problem(p, d, v, 0) != NULL, "a phone number as a JSON number refused");
    json_decref(v);
}

static void test_definition_json(void)
{
    json_t *o = pm_setting_definition(pm_setting_find("password_min_length"), NULL);
    json_t *t = pm_setting_definition(pm_setting_find("practice_phone"), NULL);
    json_t *m = pm_setting_definition(pm_setting_find("modules"), NULL);

    is_str(json_string_value(json_object_get(o, "type")), "integer", "integer type");
    ok(json_integer_value(json_object_get(o, "min")) == 8
       && json_integer_value(json_object_get(o, "max")) == 128
       && json_integer_value(json_object_get(o, "default")) == 12, "8 to 128, default 12");
    ok(json_integer_value(json_object_get(t, "max_length")) == 40
       && json_is_true(json_object_get(t, "nullable"))
       && json_is_null(json_object_get(t, "default")), "phone: 40 characters, nullable, none");
    is_str(json_string_value(json_object_get(t, "type")), "phone", "phone: its own type");
    ok(json_array_size(json_object_get(m, "keys")) == 6, "modules: six keys");
    json_decref(o);
    json_decref(t);
    json_decref(m);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_names();
    test_defaults_valid(p);
    test_loaded_defaults();
    test_language_and_zone(p);
    test_practice_zone(p);
    test_per_language(p);
    test_practice_address(p);
    test_phone(p);
    test_definition_json();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
