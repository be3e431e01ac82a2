/* pm_locale.h — the languages the practice's emails and recipient page speak and the
 * practice's clock: which language codes and time-zone names are known, and which
 * language a recipient gets. httpd-free (libpmcore). */
#ifndef PM_LOCALE_H
#define PM_LOCALE_H

#include <stddef.h>

/* The language codes there is a catalog for ("en", "es"), ended by NULL. */
extern const char *const pm_languages[];

/* Whether code is one of pm_languages. */
int pm_language_known(const char *code);

/* Whether name is an IANA time-zone name ICU knows ("America/Chicago", "UTC"). */
int pm_time_zone_known(const char *name);

/* The practice's clock as an IANA name: `setting` (the time_zone setting) when set,
 * else the server's own zone as ICU finds it (TZ, else /etc/localtime), copied into
 * buf; "UTC" when ICU cannot tell. */
const char *pm_time_zone_name(const char *setting, char *buf, size_t size);

/* A recipient's language: their own when it is a known one, else the practice's
 * default_language (itself "en" when unknown). */
const char *pm_recipient_language(const char *own, const char *practice_default);

#endif
