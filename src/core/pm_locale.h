/* pm_locale.h — the languages the practice's emails and recipient page speak and the
 * practice's clock: which language codes and time-zone names are known, which
 * language a recipient gets, and a date and time as a reader of that language
 * writes it in the practice's zone. httpd-free (libpmcore). */
#ifndef PM_LOCALE_H
#define PM_LOCALE_H

#include <apr_pools.h>

/* The language codes there is a catalog for, ended by NULL: the ones the module
 * loaded (pm_languages_use, at startup from PortalCatalogDir), else the built-in
 * "en", "es" of the repository's catalogs (the admin tool, pm-settings-json). */
const char *const *pm_languages(void);

/* From now on the known languages are codes (kept, not copied; "en" among them).
 * Called once, before any thread starts. */
void pm_languages_use(const char *const *codes);

/* Whether code is one of pm_languages(). */
int pm_language_known(const char *code);

/* "en, es": the known codes, for messages. */
const char *pm_languages_text(apr_pool_t *p);

/* Whether name is an IANA time-zone name ICU knows ("America/Chicago", "UTC"). */
int pm_time_zone_known(const char *name);

/* The practice's clock as an IANA name: `setting` (the time_zone setting) when set,
 * else the server's own zone as ICU finds it (TZ, else /etc/localtime), copied into
 * buf; "UTC" when ICU cannot tell. */
const char *pm_time_zone_name(const char *setting, char *buf, size_t size);

/* The practice's zone (pm_time_zone_name of the setting) copied into p when ICU
 * knows it; else "UTC", and *fallback (when not NULL) set to 1. */
const char *pm_practice_zone(apr_pool_t *p, const char *setting, int *fallback);

/* A recipient's language: their own when it is a known one, else the practice's
 * default_language (itself "en" when unknown). */
const char *pm_recipient_language(const char *own, const char *practice_default);

/* A moment as lang writes it in zone (IANA name; NULL: the server's own zone), with
 * the fields of an ICU skeleton (e.g. "yMMMMdhmm": "December 8, 2026 at 4:13 PM",
 * "8 de diciembre de 2026, 4:13 p. m."). NULL when ICU cannot. */
const char *pm_locale_date_time(apr_pool_t *p, long long unix_seconds, const char *lang,
                                const char *zone, const char *skeleton);

/* The first second of the day add_days after ymd (YYYY-MM-DD) in zone (IANA
 * name), so across a change of clocks too: 1 and *unix_seconds, or 0 when ymd is
 * not written so or ICU cannot. */
int pm_locale_day_start(const char *ymd, int add_days, const char *zone,
                        long long *unix_seconds);

/* The day (YYYY-MM-DD) a moment falls on in zone; NULL when ICU cannot. */
const char *pm_locale_day_of(apr_pool_t *p, long long unix_seconds, const char *zone);

/* A clock on zone (IANA name) for writing many moments, such as an export's rows: one
 * ICU calendar, closed with p. NULL when ICU cannot open one. */
typedef struct pm_zone_clock pm_zone_clock;
pm_zone_clock *pm_zone_clock_open(apr_pool_t *p, const char *zone);

/* A moment as the clock's zone reads it, ISO 8601 with its offset from UTC that day
 * ("2026-12-07T09:15:02-05:00"; "+00:00" in UTC); NULL when ICU cannot. */
const char *pm_zone_clock_iso(pm_zone_clock *k, apr_pool_t *p, long long unix_seconds);

#endif
