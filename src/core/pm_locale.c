/* pm_locale.c — known languages and time zones, and the rule that picks a
 * recipient's language (their own, else the practice's default). Time-zone names
 * are checked with ICU's own list, not a table of ours. */
#include "pm_locale.h"

#include <string.h>
#include <unicode/ucal.h>

const char *const pm_languages[] = { "en", "es", NULL };

int pm_language_known(const char *code)
{
    const char *const *l;

    for (l = pm_languages; code && *l; l++) {
        if (strcmp(*l, code) == 0) {
            return 1;
        }
    }
    return 0;
}

int pm_time_zone_known(const char *name)
{
    UChar id[128], canonical[128];
    UBool system = 0;
    UErrorCode err = U_ZERO_ERROR;
    size_t i, n;

    if (name == NULL || (n = strlen(name)) == 0 || n >= sizeof(id) / sizeof(id[0])) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)name[i] >= 0x80) {
            return 0;
        }
        id[i] = (UChar)name[i];
    }
    id[n] = 0;
    ucal_getCanonicalTimeZoneID(id, (int32_t)n, canonical,
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

const char *pm_recipient_language(const char *own, const char *practice_default)
{
    if (pm_language_known(own)) {
        return own;
    }
    return pm_language_known(practice_default) ? practice_default : "en";
}
