/* fuzz_date — birth-date checks (pm_date) on arbitrary text: accepted exactly when
 * the text is YYYY-MM-DD, a real Gregorian date, from 1900-01-01 to `now` (a fixed
 * day here: 2026-11-24), by a reference check written independently here. */
#include "fuzz.h"
#include "pm_date.h"

#include <apr_time.h>

static int reference_ok(const char *s)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int i, y, m, d, leap, max;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }
    y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12) {
        return 0;
    }
    max = mdays[m - 1] + (m == 2 && leap);
    if (d < 1 || d > max || y < 1900) {
        return 0;
    }
    return strcmp(s, "2026-11-24") <= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(p, data, size);
    apr_time_exp_t tm = { 0 };
    apr_time_t now;
    const char *problem;

    tm.tm_year = 126, tm.tm_mon = 10, tm.tm_mday = 24, tm.tm_hour = 12;
    apr_time_exp_gmt_get(&now, &tm);
    problem = pm_birth_date_problem(s, now);
    check((problem == NULL) == reference_ok(s), "accepted exactly the real dates up to today");
    apr_pool_destroy(p);
    return 0;
}
