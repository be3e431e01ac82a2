/* pm_date.c — checks that a date of birth is a real YYYY-MM-DD calendar date
 * (month lengths, leap years) that is not in the future. */
#include "pm_date.h"

#include <stdio.h>
#include <string.h>

int pm_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return month == 2 && pm_leap_year(year) ? 29 : days[month - 1];
}

static int digits(const char *s, int n, int *value)
{
    int i;

    *value = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        *value = *value * 10 + (s[i] - '0');
    }
    return 1;
}

const char *pm_birth_date_problem(const char *s, apr_time_t now)
{
    int year, month, day;
    apr_time_exp_t today;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &year)
        || !digits(s + 5, 2, &month) || !digits(s + 8, 2, &day)) {
        return "is not a YYYY-MM-DD date";
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return "is not a real date";
    }
    if (year < 1900) {
        return "is before 1900";
    }
    apr_time_exp_lt(&today, now);
    if (year > today.tm_year + 1900
        || (year == today.tm_year + 1900
            && (month > today.tm_mon + 1
                || (month == today.tm_mon + 1 && day > today.tm_mday)))) {
        return "is in the future";
    }
    return NULL;
}

/* "12/10/1990" (US order MM/DD/YYYY, one- or two-digit month and day), or with
 * hyphens, "12-10-1990" (the year last, so never the ISO order) */
static int us_date(const char *s, int *year, int *month, int *day)
{
    int sep = strchr(s, '/') ? '/' : '-';
    const char *slash1 = strchr(s, sep), *slash2 = slash1 ? strchr(slash1 + 1, sep) : NULL;
    int mlen = slash1 ? (int)(slash1 - s) : 0, dlen = slash2 ? (int)(slash2 - slash1 - 1) : 0;

    return slash2 && mlen >= 1 && mlen <= 2 && dlen >= 1 && dlen <= 2 && strlen(slash2 + 1) == 4
        && digits(s, mlen, month) && digits(slash1 + 1, dlen, day)
        && digits(slash2 + 1, 4, year);
}

int pm_search_date(const char *s, char out[11])
{
    int year, month, day;

    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4, &year)
        && digits(s + 5, 2, &month) && digits(s + 8, 2, &day)) {
        /* YYYY-MM-DD */
    }
    else if (!us_date(s, &year, &month, &day)) {
        return 0;
    }
    if (year < 1000 || year > 9999 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return 0;
    }
    /* unsigned and reduced, so the compiler can see it fits at any optimisation level */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)year % 10000u, (unsigned)month % 100u,
             (unsigned)day % 100u);
    return 1;
}

/* A real YYYY-MM-DD date's parts; 0 otherwise. */
static int ymd_parts(const char *s, int *year, int *month, int *day)
{
    return s != NULL && strlen(s) == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4, year)
           && digits(s + 5, 2, month) && digits(s + 8, 2, day) && *month >= 1 && *month <= 12
           && *day >= 1 && *day <= days_in_month(*year, *month);
}

int pm_date_birthday(const char *dob, int years, char out[11])
{
    int y, m, d;

    if (!ymd_parts(dob, &y, &m, &d)) {
        return 0;
    }
    y += years;
    if (m == 2 && d == 29 && !pm_leap_year(y)) {
        m = 3;                          /* born on Feb 29: Mar 1 in a common year */
        d = 1;
    }
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
static long days_of(int y, int m, int d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void date_of(long z, int *y, int *m, int *d)
{
    long era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int pm_date_add_days(const char *ymd, long days, char out[11])
{
    int y, m, d;

    if (!ymd_parts(ymd, &y, &m, &d)) {
        return 0;
    }
    date_of(days_of(y, m, d) + days, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    return 1;
}

int pm_date_utc_day(long long unix_seconds, long days, char out[11])
{
    long long day = unix_seconds / 86400 - (unix_seconds % 86400 < 0);
    int y, m, d;

    date_of((long)day + days, &y, &m, &d);
    return snprintf(out, 11, "%04d-%02d-%02d", y, m, d) == 10;
}

int pm_date_review_due(const char *dob, const char *granted_on, const char *today,
                       long review_days)
{
    char adult[11], opens[11];

    return pm_date_birthday(dob, 18, adult) && granted_on && today
           && strcmp(adult, granted_on) > 0                 /* granted while a minor */
           && pm_date_add_days(adult, -review_days, opens)
           && strcmp(opens, today) <= 0;
}
