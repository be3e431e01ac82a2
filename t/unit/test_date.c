/* Unit tests for date-of-birth checks (src/core/pm_date.c). */
#include "pm_date.h"
#include "tap.h"

#include <apr_general.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(void)
{
    apr_time_t now;
    apr_time_exp_t t;
    char today[48], tomorrow[48];

    apr_initialize();
    now = apr_time_now();
    apr_time_exp_lt(&t, now);
    snprintf(today, sizeof(today), "%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
    apr_time_exp_lt(&t, now + apr_time_from_sec(86400));
    snprintf(tomorrow, sizeof(tomorrow), "%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1,
             t.tm_mday);

    ok(pm_birth_date_problem("1984-07-12", now) == NULL, "ordinary date");
    ok(pm_birth_date_problem("2000-02-29", now) == NULL, "Feb 29 in a 400-year leap year");
    ok(pm_birth_date_problem("2004-02-29", now) == NULL, "Feb 29 in a leap year");
    is_str(pm_birth_date_problem("1900-02-29", now), "is not a real date", "1900 was no leap year");
    is_str(pm_birth_date_problem("2023-02-29", now), "is not a real date", "Feb 29 2023");
    is_str(pm_birth_date_problem("2023-04-31", now), "is not a real date", "April 31");
    is_str(pm_birth_date_problem("2023-13-01", now), "is not a real date", "month 13");
    is_str(pm_birth_date_problem("2023-00-10", now), "is not a real date", "month 0");
    is_str(pm_birth_date_problem("2023-01-00", now), "is not a real date", "day 0");
    is_str(pm_birth_date_problem("2023-1-05", now), "is not a YYYY-MM-DD date", "short month");
    is_str(pm_birth_date_problem("05/01/2023", now), "is not a YYYY-MM-DD date", "US format");
    is_str(pm_birth_date_problem("2023-01-05 ", now), "is not a YYYY-MM-DD date", "trailing space");
    is_str(pm_birth_date_problem("", now), "is not a YYYY-MM-DD date", "empty");
    is_str(pm_birth_date_problem("1899-12-31", now), "is before 1900", "before 1900");
    ok(pm_birth_date_problem("1900-01-01", now) == NULL, "1900-01-01 accepted");
    ok(pm_birth_date_problem(today, now) == NULL, "today accepted (%s)", today);
    is_str(pm_birth_date_problem(tomorrow, now), "is in the future", "tomorrow refused (%s)",
           tomorrow);
    is_str(pm_birth_date_problem("2999-01-01", now), "is in the future", "far future");
    ok(pm_leap_year(2000) && !pm_leap_year(2100) && pm_leap_year(2024) && !pm_leap_year(2023),
       "leap years");

    {
        char out[11];

        ok(pm_date_birthday("2008-12-20", 18, out) && strcmp(out, "2026-12-20") == 0,
           "18th birthday");
        ok(pm_date_birthday("2008-02-29", 18, out) && strcmp(out, "2026-03-01") == 0,
           "born Feb 29: Mar 1 in a common year");
        ok(pm_date_birthday("2008-02-29", 20, out) && strcmp(out, "2028-02-29") == 0,
           "born Feb 29: Feb 29 in a leap year");
        ok(!pm_date_birthday("2008-02-30", 18, out), "not a real date: refused");
        ok(pm_date_add_days("2026-12-03", 30, out) && strcmp(out, "2027-01-02") == 0,
           "30 days across a year end");
        ok(pm_date_add_days("2024-02-28", 1, out) && strcmp(out, "2024-02-29") == 0,
           "a leap day");
        ok(pm_date_add_days("2026-03-01", -1, out) && strcmp(out, "2026-02-28") == 0,
           "a day back in a common year");
        ok(pm_date_add_days("1970-01-01", -1, out) && strcmp(out, "1969-12-31") == 0,
           "before 1970");
        ok(pm_date_add_days("2000-03-01", 365 * 400 + 97, out) && strcmp(out, "2400-03-01") == 0,
           "400 years later");
        ok(!pm_date_add_days("2026-13-01", 1, out), "a month 13 is refused");
        ok(!pm_date_review_due("2009-01-31", "2020-05-01", "2026-12-31", 30),
           "review: not yet 30 days before the 18th birthday (2027-01-31)");
        ok(pm_date_review_due("2009-01-31", "2020-05-01", "2027-01-01", 30),
           "review: due from 30 days before (2027-01-01)");
        ok(pm_date_review_due("2009-01-31", "2020-05-01", "2030-01-01", 30),
           "review: still due after the birthday until closed");
        ok(!pm_date_review_due("2009-01-31", "2027-01-31", "2027-02-01", 30),
           "review: never for a grant made on or after the 18th birthday");
        ok(pm_date_review_due("2009-01-31", "2020-05-01", "2027-01-31", 0),
           "review: 0 days ahead means on the birthday");
        ok(!pm_date_review_due("2009-02-30", "2020-05-01", "2030-01-01", 30),
           "review: a client without a real date of birth is never due");
    }
    apr_terminate();
    {
        /* the client view's UTC day: plain arithmetic, checked against gmtime_r from
         * 1901 to 2100, across every midnight and before 1970 */
        char out[11], want[11];
        long long when;
        int bad = 0, checked = 0;
        struct tm tm;
        time_t tt;

        for (when = -2145916800LL; when < 4102444800LL; when += 86400 * 3 + 3599) {
            long long probes[3] = { when, when - when % 86400, when - when % 86400 - 1 };
            int k;
            for (k = 0; k < 3; k++) {
                tt = (time_t)probes[k];
                gmtime_r(&tt, &tm);
                strftime(want, sizeof(want), "%Y-%m-%d", &tm);
                if (!pm_date_utc_day(probes[k], 0, out) || strcmp(out, want) != 0) {
                    if (bad++ < 3) {
                        printf("# utc day of %lld: %s, gmtime_r says %s\n", probes[k], out, want);
                    }
                }
                checked++;
            }
        }
        ok(bad == 0 && checked > 60000, "UTC day of a time: as gmtime_r (%d times)", checked);
        ok(pm_date_utc_day(0, -1, out) && strcmp(out, "1969-12-31") == 0, "UTC day: a day before 1970");
        ok(pm_date_utc_day(-1, 0, out) && strcmp(out, "1969-12-31") == 0,
           "UTC day: the last second before 1970");
        ok(pm_date_utc_day(1798761599LL, 1, out) && strcmp(out, "2027-01-01") == 0,
           "UTC day: one day on from 2026-12-31 23:59:59");
        ok(pm_date_utc_day(1796083200LL, 367, out) && strcmp(out, "2027-12-03") == 0,
           "UTC day: 367 days on (the review's horizon)");
    }
    return done_testing();
}
