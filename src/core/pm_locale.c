/* pm_locale.c — known languages and time zones, the rule that picks a recipient's
 * language (their own, else the practice's default), and dates in a language and
 * zone. Time-zone names are checked and dates written by ICU, not tables of ours. */
#include "pm_locale.h"

#include <apr_strings.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/ustring.h>

#define UBUF 256

static const char *const builtin_languages[] = { "en", "es", NULL };
static const char *const *known_languages = builtin_languages;

const char *const *pm_languages(void)
{
    return known_languages;
}

void pm_languages_use(const char *const *codes)
{
    known_languages = codes ? codes : builtin_languages;
}

int pm_language_known(const char *code)
{
    const char *const *l;

    for (l = known_languages; code && *l; l++) {
        if (strcmp(*l, code) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *pm_languages_text(apr_pool_t *p)
{
    const char *const *l;
    const char *out = "";

    for (l = known_languages; *l; l++) {
        out = apr_pstrcat(p, out, l == known_languages ? "" : ", ", *l, NULL);
    }
    return out;
}

/* ASCII name into UTF-16; 0 when it is not short plain ASCII. */
static int ascii_to_uchar(const char *name, UChar *out, size_t cap)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n >= cap) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)name[i] >= 0x80) {
            return 0;
        }
        out[i] = (UChar)name[i];
    }
    out[n] = 0;
    return 1;
}

int pm_time_zone_known(const char *name)
{
    UChar id[128], canonical[128];
    UBool system = 0;
    UErrorCode err = U_ZERO_ERROR;

    if (!ascii_to_uchar(name, id, sizeof(id) / sizeof(id[0]))) {
        return 0;
    }
    ucal_getCanonicalTimeZoneID(id, -1, canonical,
                                (int32_t)(sizeof(canonical) / sizeof(canonical[0])), &system,
                                &err);
    return U_SUCCESS(err) && system;
}

const char *pm_time_zone_name(const char *setting, char *buf, size_t size)
{
    UChar id[128];
    UErrorCode err = U_ZERO_ERROR;
    int32_t i, n;

    if (setting != NULL && *setting) {
        return setting;
    }
    n = ucal_getDefaultTimeZone(id, (int32_t)(sizeof(id) / sizeof(id[0])), &err);
    if (U_FAILURE(err) || n <= 0 || (size_t)n >= size) {
        return "UTC";
    }
    for (i = 0; i < n; i++) {
        if (id[i] >= 0x80) {
            return "UTC";
        }
        buf[i] = (char)id[i];
    }
    buf[n] = '\0';
    return strcmp(buf, "Etc/Unknown") == 0 ? "UTC" : buf;
}

const char *pm_practice_zone(apr_pool_t *p, const char *setting, int *fallback)
{
    char buf[128];
    const char *zone = pm_time_zone_name(setting, buf, sizeof(buf));
    int unusable = !pm_time_zone_known(zone);    /* ICU counts an unknown name as GMT */

    if (fallback != NULL) {
        *fallback = unusable;
    }
    return unusable ? "UTC" : apr_pstrdup(p, zone);
}

const char *pm_recipient_language(const char *own, const char *practice_default)
{
    if (pm_language_known(own)) {
        return own;
    }
    return pm_language_known(practice_default) ? practice_default : "en";
}

/* Best patterns already found, per (locale, skeleton): opening a pattern generator
 * loads the locale's data and cost more than the rest of an email's rendering (the
 * delivery worker dates every message). A few entries, shared by every thread;
 * a full cache simply stops remembering. */
#define PATTERN_CACHE 16
typedef struct {
    char locale[32], skeleton[32];
    UChar pattern[UBUF];
} cached_pattern;
static cached_pattern pattern_cache[PATTERN_CACHE];
static int pattern_cache_used;
static pthread_mutex_t pattern_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int cached_best_pattern(const char *locale, const char *skeleton, UChar *pattern,
                               int32_t cap)
{
    int i, found = 0;

    pthread_mutex_lock(&pattern_cache_lock);
    for (i = 0; i < pattern_cache_used && !found; i++) {
        cached_pattern *c = &pattern_cache[i];
        if (strcmp(c->locale, locale) == 0 && strcmp(c->skeleton, skeleton) == 0
            && u_strlen(c->pattern) < cap) {
            u_strcpy(pattern, c->pattern);
            found = 1;
        }
    }
    pthread_mutex_unlock(&pattern_cache_lock);
    return found;
}

static void remember_pattern(const char *locale, const char *skeleton, const UChar *pattern)
{
    pthread_mutex_lock(&pattern_cache_lock);
    if (pattern_cache_used < PATTERN_CACHE && strlen(locale) < sizeof(pattern_cache[0].locale)
        && strlen(skeleton) < sizeof(pattern_cache[0].skeleton) && u_strlen(pattern) < UBUF) {
        cached_pattern *c = &pattern_cache[pattern_cache_used++];
        strcpy(c->locale, locale);
        strcpy(c->skeleton, skeleton);
        u_strcpy(c->pattern, pattern);
    }
    pthread_mutex_unlock(&pattern_cache_lock);
}

/* The locale's best pattern for skeleton (udatpg), into pattern. */
static int best_pattern(const char *locale, const char *skeleton, UChar *pattern, int32_t cap)
{
    UChar skel[64];
    UErrorCode err = U_ZERO_ERROR;
    UDateTimePatternGenerator *gen;
    const char *key = locale ? locale : "";      /* NULL: ICU's default locale */
    int32_t n;

    if (cached_best_pattern(key, skeleton, pattern, cap)) {
        return 1;
    }
    if (!ascii_to_uchar(skeleton, skel, sizeof(skel) / sizeof(skel[0]))) {
        return 0;
    }
    gen = udatpg_open(locale, &err);
    if (U_FAILURE(err)) {
        return 0;
    }
    n = udatpg_getBestPattern(gen, skel, -1, pattern, cap, &err);
    udatpg_close(gen);
    if (U_SUCCESS(err) && n > 0 && n < cap) {
        remember_pattern(key, skeleton, pattern);
        return 1;
    }
    return 0;
}

const char *pm_locale_date_time(apr_pool_t *p, long long unix_seconds, const char *lang,
                                const char *zone, const char *skeleton)
{
    UChar pattern[UBUF], text[UBUF], tz[128];
    char out[UBUF * 3];
    UErrorCode err = U_ZERO_ERROR;
    UDateFormat *fmt;
    int32_t i, n, len = 0;

    if (!best_pattern(lang, skeleton, pattern, UBUF)) {
        return NULL;
    }
    if (zone && !ascii_to_uchar(zone, tz, sizeof(tz) / sizeof(tz[0]))) {
        return NULL;
    }
    fmt = udat_open(UDAT_PATTERN, UDAT_PATTERN, lang, zone ? tz : NULL, zone ? -1 : 0,
                    pattern, -1, &err);
    if (U_FAILURE(err)) {
        return NULL;
    }
    n = udat_format(fmt, (UDate)unix_seconds * 1000.0, text, UBUF, NULL, &err);
    udat_close(fmt);
    if (U_FAILURE(err) || n >= UBUF) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (text[i] == 0x202F) {        /* ICU's narrow no-break space: older mail */
            text[i] = 0x00A0;           /* readers show the plain no-break one */
        }
    }
    u_strToUTF8(out, (int32_t)sizeof(out), &len, text, n, &err);
    return U_SUCCESS(err) ? apr_pstrmemdup(p, out, (apr_size_t)len) : NULL;
}

/* A calendar for zone (an IANA name), cleared; NULL when ICU cannot open one. */
static UCalendar *zone_calendar(const char *zone)
{
    UChar tz[128];
    UErrorCode err = U_ZERO_ERROR;
    UCalendar *cal;

    if (!ascii_to_uchar(zone, tz, sizeof(tz) / sizeof(tz[0]))) {
        return NULL;
    }
    cal = ucal_open(tz, -1, "en_US", UCAL_GREGORIAN, &err);
    if (U_FAILURE(err)) {
        return NULL;
    }
    ucal_clear(cal);
    return cal;
}

int pm_locale_day_start(const char *ymd, int add_days, const char *zone,
                        long long *unix_seconds)
{
    int y, m, d;
    char tail;
    UErrorCode err = U_ZERO_ERROR;
    UCalendar *cal;
    UDate ms;

    if (ymd == NULL || sscanf(ymd, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3
        || strlen(ymd) != 10 || (cal = zone_calendar(zone)) == NULL) {
        return 0;
    }
    ucal_setDateTime(cal, y, m - 1, d, 0, 0, 0, &err);
    if (add_days) {
        ucal_add(cal, UCAL_DATE, add_days, &err);
    }
    ms = ucal_getMillis(cal, &err);
    ucal_close(cal);
    if (U_FAILURE(err)) {
        return 0;
    }
    *unix_seconds = (long long)(ms / 1000.0);
    return 1;
}

const char *pm_locale_day_of(apr_pool_t *p, long long unix_seconds, const char *zone)
{
    UErrorCode err = U_ZERO_ERROR;
    UCalendar *cal = zone_calendar(zone);
    int y, m, d;

    if (cal == NULL) {
        return NULL;
    }
    ucal_setMillis(cal, (UDate)unix_seconds * 1000.0, &err);
    y = ucal_get(cal, UCAL_YEAR, &err);
    m = ucal_get(cal, UCAL_MONTH, &err) + 1;
    d = ucal_get(cal, UCAL_DATE, &err);
    ucal_close(cal);
    return U_SUCCESS(err) ? apr_psprintf(p, "%04d-%02d-%02d", y, m, d) : NULL;
}

struct pm_zone_clock {
    UCalendar *cal;
};

static apr_status_t zone_clock_close(void *data)
{
    ucal_close(((pm_zone_clock *)data)->cal);
    return APR_SUCCESS;
}

pm_zone_clock *pm_zone_clock_open(apr_pool_t *p, const char *zone)
{
    UCalendar *cal = zone_calendar(zone);
    pm_zone_clock *k;

    if (cal == NULL) {
        return NULL;
    }
    k = apr_palloc(p, sizeof(*k));
    k->cal = cal;
    apr_pool_cleanup_register(p, k, zone_clock_close, apr_pool_cleanup_null);
    return k;
}

const char *pm_zone_clock_iso(pm_zone_clock *k, apr_pool_t *p, long long unix_seconds)
{
    UErrorCode err = U_ZERO_ERROR;
    int f[6], i, off_min;
    static const UCalendarDateFields fields[6] = {
        UCAL_YEAR, UCAL_MONTH, UCAL_DATE, UCAL_HOUR_OF_DAY, UCAL_MINUTE, UCAL_SECOND
    };

    ucal_setMillis(k->cal, (UDate)unix_seconds * 1000.0, &err);
    for (i = 0; i < 6; i++) {
        f[i] = ucal_get(k->cal, fields[i], &err);
    }
    off_min = (ucal_get(k->cal, UCAL_ZONE_OFFSET, &err)
               + ucal_get(k->cal, UCAL_DST_OFFSET, &err)) / 60000;
    if (U_FAILURE(err)) {
        return NULL;
    }
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", f[0], f[1] + 1, f[2],
                        f[3], f[4], f[5], off_min < 0 ? '-' : '+', abs(off_min) / 60,
                        abs(off_min) % 60);
}
