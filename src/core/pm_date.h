/* pm_date.h — calendar dates as YYYY-MM-DD text (dates of birth): format and
 * real-date checks, birthdays and day arithmetic. Pure C on APR. */
#ifndef PM_DATE_H
#define PM_DATE_H

#include <apr_time.h>

/* NULL when s is a real calendar date written YYYY-MM-DD, from 1900-01-01 up to
 * and including today (local time of `now`); otherwise a message saying why not
 * ("is not a YYYY-MM-DD date", "is not a real date", "is in the future", …). */
const char *pm_birth_date_problem(const char *s, apr_time_t now);

/* 1 when s is a search for a date: YYYY-MM-DD, or MM/DD/YYYY (or MM-DD-YYYY)
 * in US order (month first; one or two digits for month and day), and a real
 * date; out gets it as YYYY-MM-DD. 0 otherwise. */
int pm_search_date(const char *s, char out[11]);

/* 1 for a leap year of the Gregorian calendar. */
int pm_leap_year(int year);

/* The day someone born on dob (YYYY-MM-DD) turns `years` old: the same month and
 * day, Mar 1 for a Feb 29 birthday in a common year. 1 and out, or 0 when dob is not
 * a real date. */
int pm_date_birthday(const char *dob, int years, char out[11]);

/* The date `days` (negative: before) after ymd, into out; 0 when ymd is not a date. */
int pm_date_add_days(const char *ymd, long days, char out[11]);

/* The UTC calendar day of unix_seconds, `days` (negative: before) away, into out; 0
 * when it has no four-digit year. Plain arithmetic (no ICU calendar, no time zone
 * file): the client view asks it twice per request. */
int pm_date_utc_day(long long unix_seconds, long days, char out[11]);

/* Whether a representative's grant made on granted_on (YYYY-MM-DD) for a client born
 * on dob is due for its coming-of-age review on `today`: it was made before the 18th
 * birthday, and today is at most review_days before that birthday (or after it). */
int pm_date_review_due(const char *dob, const char *granted_on, const char *today,
                       long review_days);

#endif
