/* Unit tests for the catalogs (src/core/pm_catalog.c) and dates (pm_locale.c): the
 * repository's catalogs load and their email texts are valid templates; a missing
 * directory, an unparsable file, a wrong "language" or a missing key is refused with
 * the file and key named; dates in a language and zone, across DST changes. */
#include "pm_catalog.h"
#include "pm_locale.h"
#include "pm_mail_format.h"
#include "tap.h"

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <stdio.h>

#define NBSP "\xc2\xa0"

static const char *write_file(apr_pool_t *p, const char *dir, const char *name,
                              const char *text)
{
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static const char *temp_dir(apr_pool_t *p, const char *label)
{
    const char *tmp = NULL;
    char *dir;

    apr_temp_dir_get(&tmp, p);
    dir = apr_psprintf(p, "%s/pm-catalog-%s-%d", tmp, label, (int)getpid());
    apr_dir_make_recursive(dir, APR_OS_DEFAULT, p);
    return dir;
}

static void test_repository_catalogs(apr_pool_t *p)
{
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    const char *dir = apr_pstrcat(p, srcdir, "/htdocs/invitation/i18n", NULL);
    static const char *const kinds[] = { "client", "representative", NULL };
    const char *const *l, *const *k;
    pm_catalog *c;
    const char *err = pm_catalog_load(p, dir, &c);

    ok(err == NULL, "the repository's catalogs load (%s)", err ? err : "ok");
    if (err) {
        return;
    }
    is_str(pm_catalog_languages(c)[0], "en", "en first");
    ok(pm_catalog_languages(c)[1] != NULL, "at least one more language");
    for (l = pm_catalog_languages(c); *l; l++) {
        for (k = kinds; *k; k++) {
            const char *s = pm_catalog_text(c, *l, "email", apr_pstrcat(p, *k, "_subject", NULL));
            const char *m = pm_catalog_text(c, *l, "email", apr_pstrcat(p, *k, "_message", NULL));
            ok(s && pm_template_problem(p, s, 0) == NULL && !strstr(s, "{{link}}"),
               "%s %s subject: a valid subject without {{link}}", *l, *k);
            ok(m && pm_template_problem(p, m, 1) == NULL && strstr(m, "{{expires_at}}"),
               "%s %s message: valid, with {{link}} and {{expires_at}}", *l, *k);
        }
        ok(pm_locale_date_time(p, 0, *l, "UTC",
                               pm_catalog_text(c, *l, "email", "date_time_skeleton")) != NULL,
           "%s: the date skeleton works", *l);
    }
    ok(strstr(pm_catalog_text(c, "es", "email", "client_message"), "Hola") != NULL,
       "es: Spanish text");
    ok(strstr(pm_catalog_text(c, "xx", "email", "client_message"), "Hello") != NULL,
       "an unknown language reads en");
    ok(pm_catalog_text(c, "es", "email", "no_such_key") == NULL, "an unknown key: NULL");
}

static const char en_json[] =
    "{\"language\": \"en\", \"email\": {\"client_subject\": \"Hi\", \"x\": \"y\"}, "
    "\"page\": {\"title\": \"T\"}}";

static void test_refused(apr_pool_t *p)
{
    const char *dir = temp_dir(p, "bad");
    pm_catalog *c;
    const char *err;

    err = pm_catalog_load(p, apr_pstrcat(p, dir, "/none", NULL), &c);
    ok(err && strstr(err, "/none") && c == NULL, "a missing directory refused (%s)", err);
    err = pm_catalog_load(p, dir, &c);
    ok(err && strstr(err, "no en.json"), "a directory without en.json refused (%s)", err);

    write_file(p, dir, "en.json", en_json);
    write_file(p, dir, "fr.json", "{\"language\": \"fr\", \"email\": {\"client_subject\": "
               "\"Salut\", \"x\": \"y\"}, \"page\": {}}");
    err = pm_catalog_load(p, dir, &c);
    ok(err && strstr(err, "fr.json") && strstr(err, "\"page.title\""),
       "a missing key refused, file and key named (%s)", err);

    write_file(p, dir, "fr.json", "{\"language\": \"fr\", \"email\": {\"client_subject\": "
               "\"Salut\", \"x\": \"y\"}, \"page\": {\"title\": 3}}");
    err = pm_catalog_load(p, dir, &c);
    ok(err && strstr(err, "\"page.title\""), "a key of another type refused (%s)", err);

    write_file(p, dir, "fr.json", "{\"language\": \"fr\", \"email\": ");
    err = pm_catalog_load(p, dir, &c);
    ok(err && strstr(err, "fr.json") && strstr(err, "cannot be read"),
       "an unparsable file refused (%s)", err);

    write_file(p, dir, "fr.json", "{\"language\": \"de\", \"email\": {\"client_subject\": "
               "\"Salut\", \"x\": \"y\"}, \"page\": {\"title\": \"T\"}}");
    err = pm_catalog_load(p, dir, &c);
    ok(err && strstr(err, "\"language\""), "a language other than the file's refused (%s)", err);

    write_file(p, dir, "fr.json", "{\"language\": \"fr\", \"email\": {\"client_subject\": "
               "\"Salut\", \"x\": \"y\", \"extra\": \"z\"}, \"page\": {\"title\": \"T\"}}");
    write_file(p, dir, "notes.txt", "not a catalog");
    err = pm_catalog_load(p, dir, &c);
    ok(err == NULL && c != NULL, "complete catalogs load; other files ignored (%s)",
       err ? err : "ok");
    if (c) {
        is_str(pm_catalog_languages(c)[0], "en", "languages: en");
        is_str(pm_catalog_languages(c)[1], "fr", "languages: fr");
        ok(pm_catalog_languages(c)[2] == NULL, "languages: two");
        is_str(pm_catalog_text(c, "fr", "email", "client_subject"), "Salut", "fr text");
        pm_languages_use(pm_catalog_languages(c));
        ok(pm_language_known("fr") && !pm_language_known("es"),
           "the loaded catalogs are the known languages");
        is_str(pm_languages_text(p), "en, fr", "listed for messages");
        pm_languages_use(NULL);
        ok(pm_language_known("es"), "back to the built-in list");
    }
}

static void test_dates(apr_pool_t *p)
{
    /* 2026-12-08 22:13 UTC */
    is_str(pm_locale_date_time(p, 1796767980LL, "es", "America/Chicago", "yMMMMdhmm"),
           "8 de diciembre de 2026, 4:13" NBSP "p." NBSP "m.", "es, Chicago");
    is_str(pm_locale_date_time(p, 1796767980LL, "en", "America/Chicago", "yMMMMdhmm"),
           "December 8, 2026 at 4:13" NBSP "PM", "en, Chicago");
    is_str(pm_locale_date_time(p, 1796767980LL, "es", "Europe/Madrid", "yMMMMdhmm"),
           "8 de diciembre de 2026, 11:13" NBSP "p." NBSP "m.", "es, Madrid (UTC+1)");
    is_str(pm_locale_date_time(p, 1796767980LL, "en", "Europe/Madrid", "yMMMMdHmm"),
           "December 8, 2026 at 23:13", "a 24-hour skeleton");
    /* summer: Madrid is UTC+2, Chicago UTC-5 (2026-07-04 18:05 UTC) */
    is_str(pm_locale_date_time(p, 1783188300LL, "es", "Europe/Madrid", "yMMMMdhmm"),
           "4 de julio de 2026, 8:05" NBSP "p." NBSP "m.", "es, Madrid, summer time");
    is_str(pm_locale_date_time(p, 1783188300LL, "en", "America/Chicago", "yMMMMdhmm"),
           "July 4, 2026 at 1:05" NBSP "PM", "en, Chicago, summer time");
    /* DST ends in Chicago 2026-11-01 07:00 UTC: 1:59 CDT, then 1:00 CST */
    is_str(pm_locale_date_time(p, 1793516340LL, "en", "America/Chicago", "yMMMMdhmm"),
           "November 1, 2026 at 1:59" NBSP "AM", "Chicago: the minute before DST ends");
    is_str(pm_locale_date_time(p, 1793516400LL, "en", "America/Chicago", "yMMMMdhmm"),
           "November 1, 2026 at 1:00" NBSP "AM", "Chicago: DST ended, the hour again");
    /* DST starts in Madrid 2026-03-29 01:00 UTC: 1:59 CET, then 3:00 CEST */
    is_str(pm_locale_date_time(p, 1774745940LL, "es", "Europe/Madrid", "yMMMMdhmm"),
           "29 de marzo de 2026, 1:59" NBSP "a." NBSP "m.", "Madrid: the minute before DST");
    is_str(pm_locale_date_time(p, 1774746000LL, "es", "Europe/Madrid", "yMMMMdhmm"),
           "29 de marzo de 2026, 3:00" NBSP "a." NBSP "m.", "Madrid: DST began, 2:00 skipped");
    is_str(pm_locale_date_time(p, 1796767980LL, "en", "UTC", "yMMMMdhmm"),
           "December 8, 2026 at 10:13" NBSP "PM", "UTC");
    ok(pm_locale_date_time(p, 0, "en", "America/Chicago", "") == NULL, "no skeleton: NULL");
}

/* The best patterns are cached per (language, skeleton), a few of them: more pairs
 * than the cache holds still format, and the first ones keep their own patterns. */
static void test_date_pattern_cache(apr_pool_t *p)
{
    static const char *const skeletons[] = {
        "yMd", "yMMMd", "Hm", "hm", "yMMMMd", "MMMd", "y", "yM", "d", "jm",
        "Ehm", "EHm", "yMMM", "MMMEd", "yMEd", "MEd", "Md", "yQQQ", NULL
    };
    int i, all = 1;

    for (i = 0; skeletons[i]; i++) {
        all = all && pm_locale_date_time(p, 1796767980LL, "en", "UTC", skeletons[i]) != NULL
                  && pm_locale_date_time(p, 1796767980LL, "es", "UTC", skeletons[i]) != NULL;
    }
    ok(all, "36 (language, skeleton) pairs, more than the cache holds, all format");
    is_str(pm_locale_date_time(p, 1796767980LL, "en", "UTC", "Hm"), "22:13", "en Hm, cached");
    is_str(pm_locale_date_time(p, 1796767980LL, "en", "UTC", "hm"), "10:13" NBSP "PM",
           "en hm, cached: its own pattern, not Hm's");
    is_str(pm_locale_date_time(p, 1796767980LL, "es", "America/Chicago", "yMMMMdhmm"),
           "8 de diciembre de 2026, 4:13" NBSP "p." NBSP "m.", "es, Chicago, still right");
    is_str(pm_locale_date_time(p, 1796767980LL, "en", "UTC", "yMMMMd"), "December 8, 2026",
           "en yMMMMd, a pair the full cache did not keep");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_repository_catalogs(p);
    test_date_pattern_cache(p);
    test_refused(p);
    test_dates(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
