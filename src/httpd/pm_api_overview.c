/* pm_api_overview.c — GET /admin/overview, the champions' Overview screen: the
 * invitation funnel by month and delivery health by day, each month and day of the
 * practice's time zone, with the ones without activity as zeros. */
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_date.h"
#include "pm_locale.h"


APLOG_USE_MODULE(portal_manager);

#define MONTHS_DEFAULT 12
#define MONTHS_MAX     24
#define DAYS_DEFAULT   30
#define DAYS_MAX       90
#define QUARTER_HOUR   900     /* the statements' grouping, in seconds */
#define OV_COUNTS_MAX  12      /* counted columns a bucket holds */

/* n consecutive months or days: each one's label and first second, and after the
 * last one the first second past the range. */
typedef struct {
    int n;
    const char **label;        /* "2026-11" or "2026-12-01" */
    long long *start;          /* n + 1 entries */
    long long (*count)[OV_COUNTS_MAX];   /* per bucket, the statement's counted columns */
} ov_buckets;

/* the counted columns of both statements fit a bucket's counts */
typedef char ov_counts_fit[PM_NCOLS(PM_COLS_OVERVIEW_FUNNEL) - 1 <= OV_COUNTS_MAX
                           && PM_NCOLS(PM_COLS_OVERVIEW_DELIVERY) - 1 <= OV_COUNTS_MAX ? 1 : -1];

/* waiting (pending, not expired), locked and ended (revoked or superseded) complete
 * the partition of invited: invited = waiting + accepted + declined + expired + locked
 * + ended; delivered, failed and bounced say how the emails went */
static const char *const funnel_names[] = {
    "invited", "delivered", "accepted", "declined", "expired", "failed", "bounced",
    "waiting", "locked", "ended", NULL
};
static const char *const delivery_names[] = { "sent", "retried", "failed", "bounced", NULL };

static void buckets_alloc(apr_pool_t *p, ov_buckets *b, int n)
{
    b->n = n;
    b->label = apr_pcalloc(p, sizeof(*b->label) * (apr_size_t)(n + 1));
    b->start = apr_pcalloc(p, sizeof(*b->start) * (apr_size_t)(n + 1));
    b->count = apr_pcalloc(p, sizeof(*b->count) * (apr_size_t)n);
}

/* The n months up to and including today's, each from the 1st at midnight in zone. */
static int month_buckets(apr_pool_t *p, const char *today, const char *zone, int n,
                         ov_buckets *b)
{
    int y = atoi(today), m = atoi(today + 5), k, idx;

    buckets_alloc(p, b, n);
    for (k = 0; k <= n; k++) {
        idx = y * 12 + (m - 1) - (n - 1) + k;
        b->label[k] = apr_psprintf(p, "%04d-%02d", idx / 12, idx % 12 + 1);
        if (!pm_locale_day_start(apr_pstrcat(p, b->label[k], "-01", NULL), 0, zone,
                                 &b->start[k])) {
            return 0;
        }
    }
    return 1;
}

/* The n days up to and including today, each from midnight in zone. */
static int day_buckets(apr_pool_t *p, const char *today, const char *zone, int n,
                       ov_buckets *b)
{
    char ymd[11];
    int k;

    buckets_alloc(p, b, n);
    for (k = 0; k <= n; k++) {
        if (!pm_date_add_days(today, k - (n - 1), ymd)
            || !pm_locale_day_start(today, k - (n - 1), zone, &b->start[k])) {
            return 0;
        }
        b->label[k] = apr_pstrdup(p, ymd);
    }
    return 1;
}

/* The bucket holding second t, or -1 outside the range. */
static int bucket_of(const ov_buckets *b, long long t)
{
    int lo = 0, hi = b->n - 1, mid;

    if (t < b->start[0] || t >= b->start[b->n]) {
        return -1;
    }
    while (lo < hi) {
        mid = (lo + hi + 1) / 2;
        if (b->start[mid] <= t) {
            lo = mid;
        }
        else {
            hi = mid - 1;
        }
    }
    return lo;
}

/* Adds each quarter hour's row (column 0: its number; then ncols counts) to its bucket. */
static void add_rows(ov_buckets *b, const apr_array_header_t *rows, int ncols)
{
    int i, c, k;

    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        k = bucket_of(b, pm_row_int(row, 0, -1) * QUARTER_HOUR);
        for (c = 0; k >= 0 && c < ncols; c++) {
            b->count[k][c] += pm_row_int(row, c + 1, 0);
        }
    }
}

static json_t *buckets_json(const ov_buckets *b, const char *key, const char *const *names)
{
    json_t *list = json_array();
    int k, c;

    for (k = 0; k < b->n; k++) {
        json_t *e = json_object();
        pm_json_set_str(e, key, b->label[k]);
        for (c = 0; names[c]; c++) {
            pm_json_set_int(e, names[c], b->count[k][c]);
        }
        json_array_append_new(list, e);
    }
    return list;
}

/* Today in the practice's zone, and the zone itself; UTC (logged) when ICU cannot
 * use the setting's. */
static const char *practice_today(pm_req *q, const pm_settings *st, const char **zone)
{
    int fallback;

    *zone = pm_practice_zone(q->r->pool, st->time_zone, &fallback);
    if (fallback) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r, PM_LOGNO(00560)
                      "overview: time zone %s unusable, counting in UTC",
                      st->time_zone ? st->time_zone : "(the server's)");
    }
    return pm_locale_day_of(q->r->pool, pm_now_sec(q->r), *zone);
}

/* Both statements over their ranges, counted into the buckets. */
static int count_activity(pm_req *q, ov_buckets *months, ov_buckets *days)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *rows;
    const char *now = pm_arg_int(p, pm_now_sec(q->r));

    if (pm_db_select(q->db, PM_SQL_OVERVIEW_FUNNEL, &rows, now, now,
                     pm_arg_int(p, months->start[0]), pm_arg_int(p, months->start[months->n]))
        != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    add_rows(months, rows, PM_NCOLS(PM_COLS_OVERVIEW_FUNNEL) - 1);
    if (pm_db_select(q->db, PM_SQL_OVERVIEW_DELIVERY, &rows, pm_arg_int(p, days->start[0]),
                     pm_arg_int(p, days->start[days->n])) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    add_rows(days, rows, PM_NCOLS(PM_COLS_OVERVIEW_DELIVERY) - 1);
    return PM_NEXT;
}

static const char *const overview_keys[] = { "months", "days", NULL };

int pm_api_admin_overview(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    apr_table_t *args;
    const char *today, *zone;
    ov_buckets months, days;
    int n_months, n_days, rc;
    pm_settings st;
    json_t *doc;

    if ((rc = pm_http_read_query(q, overview_keys, &args)) != PM_NEXT
        || (rc = pm_api_read_count(q, "months", apr_table_get(args, "months"), MONTHS_DEFAULT,
                                   MONTHS_MAX, &n_months)) != PM_NEXT
        || (rc = pm_api_read_count(q, "days", apr_table_get(args, "days"), DAYS_DEFAULT,
                                   DAYS_MAX, &n_days)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    today = practice_today(q, &st, &zone);
    if (today == NULL || !month_buckets(p, today, zone, n_months, &months)
        || !day_buckets(p, today, zone, n_days, &days)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, PM_LOGNO(00561)
                      "overview: cannot work out the days of time zone %s", zone);
        return pm_http_send_error(q, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                                  "The overview could not be worked out.", NULL);
    }
    if (pm_audit(q, "overview.view", 0, 0, PM_AUDIT_OK, NULL) != APR_SUCCESS
        || (rc = count_activity(q, &months, &days)) != PM_NEXT) {
        return rc == PM_NEXT ? pm_http_db_unavailable(q) : rc;
    }
    doc = pm_json_object(p);
    pm_json_set_str(doc, "time_zone", zone);
    json_object_set_new(doc, "funnel", buckets_json(&months, "month", funnel_names));
    json_object_set_new(doc, "delivery", buckets_json(&days, "day", delivery_names));
    return pm_http_send_json(q, HTTP_OK, doc);
}
