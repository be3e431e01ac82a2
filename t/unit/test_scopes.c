/* Unit tests for representative access: scope lists (src/core/pm_scopes.c) and the
 * practice-zone day bounds of access dates (pm_locale_day_start / _day_of), and the
 * practice-time moments of the audit CSV (pm_zone_clock_iso). */
#include "pm_locale.h"
#include "pm_scopes.h"
#include "tap.h"

#include <apr_general.h>

static json_t *modules_off(const char *a, const char *b)
{
    json_t *m = json_object();

    json_object_set_new(m, a, json_false());
    if (b) {
        json_object_set_new(m, b, json_false());
    }
    return m;
}

static void test_parse(apr_pool_t *p)
{
    const char *stored = NULL;
    json_t *v;

    v = json_pack("[sss]", "forms", "messages", "billing");
    ok(pm_scopes_parse(p, v, &stored) == NULL, "known scopes parse");
    is_str(stored, "messages billing forms", "stored in canonical order, whatever the order sent");
    json_decref(v);
    v = json_array();
    stored = NULL;
    ok(pm_scopes_parse(p, v, &stored) == NULL && stored && *stored == '\0', "no scopes: empty");
    json_decref(v);
    v = json_pack("[ss]", "messages", "payroll");
    ok(pm_scopes_parse(p, v, &stored) != NULL, "an unknown scope is refused");
    json_decref(v);
    v = json_pack("[ss]", "forms", "forms");
    is_str(pm_scopes_parse(p, v, &stored), "names forms twice", "a repeat is refused");
    json_decref(v);
    v = json_pack("[i]", 3);
    ok(pm_scopes_parse(p, v, &stored) != NULL, "a number is refused");
    json_decref(v);
    v = json_string("messages");
    ok(pm_scopes_parse(p, v, &stored) != NULL, "a string, not a list, is refused");
    json_decref(v);
    v = json_pack("[s]", "Messages");
    ok(pm_scopes_parse(p, v, &stored) != NULL, "names are exact (case too)");
    json_decref(v);
}

static void test_modules(apr_pool_t *p)
{
    json_t *m;

    is_str(pm_scopes_default(p, NULL), "messages billing forms appointments",
           "no modules stored: every scope");
    m = modules_off("messaging", "forms");
    is_str(pm_scopes_default(p, m), "billing appointments", "messaging and forms off");
    is_str(pm_scopes_first_disabled(p, "messages billing", m), "messages",
           "messages needs messaging");
    ok(pm_scopes_first_disabled(p, "billing appointments", m) == NULL, "the rest are on");
    json_decref(m);
    m = modules_off("statements", NULL);
    ok(pm_scope_enabled("billing", m), "billing: payments alone is enough");
    json_decref(m);
    m = modules_off("statements", "payments");
    ok(!pm_scope_enabled("billing", m), "billing: off when statements and payments are");
    ok(!pm_scope_enabled("payroll", NULL), "an unknown scope is never enabled");
    json_decref(m);
    m = pm_scopes_json("messages forms");
    ok(json_array_size(m) == 2
       && strcmp(json_string_value(json_array_get(m, 1)), "forms") == 0, "stored -> JSON list");
    json_decref(m);
    m = pm_scopes_json("");
    ok(json_array_size(m) == 0, "empty stored -> empty list");
    json_decref(m);
}

static void test_days(apr_pool_t *p)
{
    long long t = 0, t2 = 0;

    ok(pm_locale_day_start("2026-12-08", 0, "UTC", &t) && t == 1796688000LL,
       "UTC midnight of 2026-12-08");
    ok(pm_locale_day_start("2026-12-08", 0, "America/Chicago", &t) && t == 1796688000LL + 6 * 3600,
       "Chicago's midnight is 06:00 UTC in winter");
    ok(pm_locale_day_start("2026-03-08", 0, "America/Chicago", &t)
       && pm_locale_day_start("2026-03-08", 1, "America/Chicago", &t2) && t2 - t == 23 * 3600,
       "the day clocks go forward has 23 hours");
    ok(pm_locale_day_start("2026-11-01", 1, "America/Chicago", &t2)
       && pm_locale_day_start("2026-11-01", 0, "America/Chicago", &t) && t2 - t == 25 * 3600,
       "the day clocks go back has 25 hours");
    is_str(pm_locale_day_of(p, 1796688000LL + 6 * 3600 - 1, "America/Chicago"), "2026-12-07",
           "a second before Chicago's midnight is the day before");
    is_str(pm_locale_day_of(p, 1796688000LL + 6 * 3600, "America/Chicago"), "2026-12-08",
           "Chicago's midnight is the day");
    ok(!pm_locale_day_start("2026-12-8", 0, "UTC", &t), "a short date is refused");
    ok(!pm_locale_day_start("2026-12-08x", 0, "UTC", &t), "trailing text is refused");
    ok(!pm_locale_day_start(NULL, 0, "UTC", &t), "NULL is refused");
}

/* the audit CSV's practice-time column (pm_zone_clock_iso) */
static void test_zone_clock(apr_pool_t *p)
{
    pm_zone_clock *chicago = pm_zone_clock_open(p, "America/Chicago");
    pm_zone_clock *utc = pm_zone_clock_open(p, "UTC");
    pm_zone_clock *kolkata = pm_zone_clock_open(p, "Asia/Kolkata");

    ok(chicago && utc && kolkata, "clocks open on known zones");
    is_str(pm_zone_clock_iso(chicago, p, 1796688000LL + 6 * 3600 - 1), "2026-12-07T23:59:59-06:00",
           "Chicago in winter: -06:00, the day before UTC's");
    is_str(pm_zone_clock_iso(chicago, p, 1783000000LL), "2026-07-02T08:46:40-05:00",
           "Chicago in summer: -05:00");
    is_str(pm_zone_clock_iso(utc, p, 1796688000LL), "2026-12-08T00:00:00+00:00", "UTC: +00:00");
    is_str(pm_zone_clock_iso(kolkata, p, 1796688000LL), "2026-12-08T05:30:00+05:30",
           "a half-hour offset");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_parse(p);
    test_modules(p);
    test_days(p);
    test_zone_clock(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
