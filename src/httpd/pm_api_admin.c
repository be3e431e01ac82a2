/* pm_api_admin.c — the champions' routes under /admin (protected by whatever
 * Require the deployment writes for that Location): portal settings (checked
 * and stored by pm_op_settings.c; a refusal lists every refused value), the email
 * preview and test email, and the audit trail as JSON or CSV. The delivery queue's
 * routes are pm_api_outbox.c's. */
#include "pm_api.h"
#include "pm_outbox_wake.h"
#include "pm_audit.h"
#include "pm_config_parse.h"
#include "pm_csv.h"
#include "pm_image.h"
#include "pm_locale.h"
#include "pm_mail_format.h"
#include "pm_op.h"
#include "pm_outbox.h"
#include "pm_store.h"
#include "pm_text.h"

#include "http_protocol.h"
#include "util_script.h"

APLOG_USE_MODULE(portal_manager);

#define AUDIT_PAGE       100
#define CSV_PAGE         1000
#define TEST_EMAIL_LIMIT 10         /* per champion ... */
#define TEST_EMAIL_WINDOW 3600      /* ... per rolling hour (seconds) */

/* ---- GET /admin/settings ------------------------------------------------------------ */

/* The default of one setting; practice_name's and portal_url's come from the
 * directives their definitions name. */
static json_t *default_value(pm_req *q, const pm_setting_def *d, const pm_settings *st)
{
    pm_server_conf *conf = pm_server_config(q->r->server);

    if (d->default_from && strcmp(d->default_from, "PortalMailFrom") == 0) {
        return json_string(pm_settings_practice_name(st, conf));
    }
    if (d->default_from && strcmp(d->default_from, "PortalLoginURL") == 0) {
        return conf->login_url ? json_string(conf->login_url) : json_null();
    }
    if (pm_setting_per_language(d)) {
        return pm_settings_default_texts(d, q->r->pool);
    }
    return pm_setting_default_json(d);
}

static int stored_logo_usable(pm_req *q, json_t *v)
{
    return pm_setting_problem(q->r->pool, pm_setting_find("logo"), v, 0) == NULL;
}

static const char *const settings_keys[] = { "include", NULL };

/* ?include=definitions: every setting's definition, as the pages check values with
 * (*with 1); PM_NEXT, or 400 for any other query. */
static int read_settings_query(pm_req *q, int *with)
{
    apr_table_t *args;
    const char *include;
    int rc;

    if ((rc = pm_http_read_query(q, settings_keys, &args)) != PM_NEXT) {
        return rc;
    }
    include = apr_table_get(args, "include");
    if (include && strcmp(include, "definitions") != 0) {
        return pm_http_bad_parameter(q, "include", "include takes only definitions.");
    }
    *with = include != NULL;
    return PM_NEXT;
}

static json_t *definitions(pm_req *q, const pm_settings *st)
{
    json_t *defs = json_array();
    const pm_setting_def *d;

    for (d = pm_setting_defs; d->name; d++) {
        json_array_append_new(defs, pm_setting_definition(d, default_value(q, d, st)));
    }
    return defs;
}

/* Every setting: the stored value, or the default (a stored logo that is not a
 * usable PNG or JPEG, e.g. an SVG from before they were refused, counts as none). */
static int settings_document(pm_req *q, int with_definitions, json_t **out)
{
    apr_array_header_t *rows;
    pm_settings st;
    json_t *doc = pm_json_object(q->r->pool);
    const pm_setting_def *d;
    int i;

    if (pm_settings_load(q->db, q->r->pool, &st) != APR_SUCCESS
        || pm_db_select(q->db, PM_SQL_SETTINGS_ALL, &rows) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    st.practice_name = NULL;                  /* the default, not the stored one */
    for (d = pm_setting_defs; d->name; d++) {
        json_object_set_new(doc, d->name, default_value(q, d, &st));
    }
    if (with_definitions) {
        json_object_set_new(doc, "definitions", definitions(q, &st));
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        json_t *v = pm_setting_find(pm_row_str(row, SETTING_NAME))
                    ? json_loads(pm_row_str(row, SETTING_VALUE), JSON_DECODE_ANY, NULL) : NULL;
        if (v && strcmp(pm_row_str(row, SETTING_NAME), "logo") == 0 && !stored_logo_usable(q, v)) {
            json_decref(v);
            v = NULL;
        }
        if (v && pm_setting_per_language(pm_setting_find(pm_row_str(row, SETTING_NAME)))) {
            json_t *texts = pm_setting_by_language(v);     /* a string from before: English */
            json_decref(v);
            v = texts;
        }
        if (v) {
            if (json_is_object(v)
                && json_is_object(json_object_get(doc, pm_row_str(row, SETTING_NAME)))) {
                json_object_update(json_object_get(doc, pm_row_str(row, SETTING_NAME)), v);
                json_decref(v);
            }
            else {
                json_object_set_new(doc, pm_row_str(row, SETTING_NAME), v);
            }
        }
    }
    *out = doc;
    return PM_NEXT;
}

/* The settings document; with ?include=definitions also a "definitions" array
 * (name, type, min/max or max_length, nullable, default) from pm_settings_def.c. */
int pm_api_admin_settings_get(pm_req *q)
{
    json_t *doc;
    int with = 0, rc;

    if ((rc = read_settings_query(q, &with)) != PM_NEXT
        || (rc = settings_document(q, with, &doc)) != PM_NEXT) {
        return rc;
    }
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- PUT /admin/settings ------------------------------------------------------------ */

static const pm_api_answer answers[] = {
    { PM_OP_NO_BODY, NULL, HTTP_BAD_REQUEST, "invalid_body",
      "Send the settings to change as a JSON object.", NULL },
    { 0, NULL, 0, NULL, NULL, NULL }
};

/* What a refused value's setting must be: "brand_color must be a colour written
 * #rrggbb." (the pages put the setting's own label in place of the name). */
static const char *refusal_message(pm_req *q, const pm_op_setting_problem *e)
{
    return apr_psprintf(q->r->pool, "%s %s.", e->key, e->problem);
}

/* The `errors` of a 422 invalid_setting: {field, message} of every refused value. */
static json_t *refusals_json(pm_req *q, const apr_array_header_t *problems)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < problems->nelts; i++) {
        const pm_op_setting_problem *e = &APR_ARRAY_IDX(problems, i, pm_op_setting_problem);
        json_t *j = json_object();

        pm_json_set_str(j, "field", e->key);
        pm_json_set_str(j, "message", refusal_message(q, e));
        json_array_append_new(list, j);
    }
    return list;
}

/* 422 invalid_setting: the first refused value as `error` (its field and message),
 * every one of them in `errors`; nothing was stored. */
static int refuse_values(pm_req *q, const apr_array_header_t *problems)
{
    const pm_op_setting_problem *first = &APR_ARRAY_IDX(problems, 0, pm_op_setting_problem);
    json_t *extra = pm_json_object(q->r->pool);

    json_object_set_new(extra, "errors", refusals_json(q, problems));
    return pm_http_send_error_with(q, HTTP_UNPROCESSABLE_ENTITY, "invalid_setting",
                                   refusal_message(q, first), first->key, extra);
}

/* A body that cannot be stored: nothing in it, a setting that does not exist,
 * or values their definitions refuse. */
static int refuse_settings(pm_req *q, pm_op_outcome o, const char *key,
                           const apr_array_header_t *problems)
{
    if (o == PM_OP_UNKNOWN_SETTING) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "unknown_field",
                                  apr_psprintf(q->r->pool, "There is no setting '%s'.", key), key);
    }
    if (o == PM_OP_INVALID_SETTING) {
        return refuse_values(q, problems);
    }
    return pm_api_send_outcome(q, answers, "settings.update", o);
}

/* Stores the body's values (null = back to the default) in one transaction
 * (pm_op_settings.c) and answers with the settings document. */
int pm_api_admin_settings_put(pm_req *q)
{
    int insecure_ok = pm_server_config(q->r->server)->allow_insecure_urls == 1;
    const char *key;
    apr_array_header_t *problems;
    pm_op_ctx c;
    pm_op_outcome o;
    json_t *doc;
    int rc;

    if ((o = pm_op_settings_check(q->body, insecure_ok, q->r->pool, &key, &problems))
        != PM_OP_OK) {
        return refuse_settings(q, o, key, problems);
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_settings_store(&c, q->body)) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "settings.update", o);
    }
    rc = settings_document(q, 0, &doc);
    return rc == PM_NEXT ? pm_http_send_json(q, HTTP_OK, doc) : rc;
}

/* ---- POST /admin/settings/preview ------------------------------------------------------ */

static const char *const preview_fields[] = { "kind", "language", NULL };

/* The body's "kind" of email (`absent` when it has none): PM_NEXT with *k
 * "client" or "representative", or 422 invalid_kind. */
static int read_email_kind(pm_req *q, const char *absent, const char **k)
{
    json_t *kind = pm_http_body_field(q, "kind");

    *k = json_is_string(kind) ? json_string_value(kind) : absent;
    if (strcmp(*k, "client") != 0 && strcmp(*k, "representative") != 0) {
        return pm_http_unprocessable(q, "invalid_kind",
                                     "kind must be \"client\" or \"representative\".", "kind");
    }
    return PM_NEXT;
}

/* The body's "language" (absent or null: the practice's default_language): PM_NEXT,
 * or 422 invalid_language for one without a catalog. */
static int read_email_language(pm_req *q, const pm_settings *st, const char **lang)
{
    json_t *l = pm_http_body_field(q, "language");

    if (l == NULL || json_is_null(l)) {
        *lang = pm_recipient_language(NULL, st->default_language);
        return PM_NEXT;
    }
    if (!json_is_string(l) || !pm_language_known(json_string_value(l))) {
        return pm_http_unprocessable(q, "invalid_language",
                                     apr_psprintf(q->r->pool, "language must be one the portal "
                                                  "has a catalog for (%s).",
                                                  pm_languages_text(q->r->pool)), "language");
    }
    *lang = json_string_value(l);
    return PM_NEXT;
}

/* The From line the emails carry: PortalMailFrom's name when it gives one (it stays
 * after a practice rename), else the practice name, and its address. */
static const char *from_line(apr_pool_t *p, const pm_settings *st, const pm_server_conf *conf)
{
    const char *name = pm_settings_from_name(st, conf);

    return name && *name ? apr_psprintf(p, "%s <%s>", name, conf->mail_from_addr)
                         : conf->mail_from_addr;
}

int pm_api_admin_preview(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    pm_server_conf *conf = pm_server_config(q->r->server);
    const char *k, *lang = NULL, *subject, *text, *html;
    pm_settings st;
    json_t *doc;
    int rc;

    if ((rc = pm_http_check_fields(q, preview_fields)) != PM_NEXT
        || (rc = read_email_kind(q, "", &k)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = read_email_language(q, &st, &lang)) != PM_NEXT) {
        return rc;
    }
    pm_outbox_render(p, q->r->server, &st, k, lang, PM_SAMPLE_FIRST_NAME,
                     apr_pstrcat(p, conf->invitation_url, PM_TEST_LINK_FRAGMENT, NULL),
                     pm_now_sec(q->r) + st.invitation_ttl_hours * 3600, &subject, &text, &html);
    doc = pm_json_object(p);
    pm_json_set_str(doc, "language", lang);
    pm_json_set_str(doc, "from", from_line(p, &st, conf));
    pm_json_set_str(doc, "subject", subject);
    pm_json_set_str(doc, "text", text);
    pm_json_set_str(doc, "html", html);
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- POST /admin/settings/test-email --------------------------------------------------- */

static const char *const test_email_fields[] = { "to", "kind", "language", NULL };

/* Opens the test email's transaction holding what serialises one champion's test
 * emails, so the hour's count read next cannot go stale before this send's own
 * audit row is committed: on SQLite the write lock (taken at BEGIN), on PostgreSQL
 * the champion's staff row. 403 not_staff (rolled back) when they were disabled
 * meanwhile. */
static int begin_test_email_txn(pm_req *q)
{
    int locked = 0;

    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_STAFF_LOCK_ROW, &locked, q->staff->username) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (locked == 0) {
        pm_db_rollback(q->db);
        return pm_http_send_error(q, HTTP_FORBIDDEN, "not_staff",
                                  PM_NOT_STAFF_MESSAGE, NULL);
    }
    return PM_NEXT;
}

/* At most TEST_EMAIL_LIMIT test emails per champion per rolling hour, counted from
 * the audit trail so the limit holds across children and restarts; 429 with
 * Retry-After = when the oldest send of the hour leaves the window. Read inside
 * begin_test_email_txn's transaction: counted outside it, parallel sends all saw
 * room (issue 15). A refusal rolls the transaction back. */
static int refuse_test_email_flood(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    long long now = pm_now_sec(q->r), wait;
    apr_array_header_t *rows;
    const pm_row *row;

    if (pm_db_select(q->db, PM_SQL_AUDIT_TEST_EMAILS, &rows, q->staff->username,
                     pm_arg_int(p, now - TEST_EMAIL_WINDOW)) != APR_SUCCESS || rows->nelts != 1) {
        return pm_http_db_unavailable(q);
    }
    row = &APR_ARRAY_IDX(rows, 0, pm_row);
    if (pm_row_int(row, TEST_EMAILS_COUNT, 0) < TEST_EMAIL_LIMIT) {
        return PM_NEXT;
    }
    pm_db_rollback(q->db);
    wait = pm_row_int(row, TEST_EMAILS_OLDEST_AT, now) + TEST_EMAIL_WINDOW - now;
    wait = wait < 1 ? 1 : wait;
    apr_table_setn(q->r->err_headers_out, "Retry-After", pm_arg_int(p, wait));
    return pm_http_send_error(q, HTTP_TOO_MANY_REQUESTS, "test_email_limit",
                              apr_psprintf(p, "You have sent %d test emails in the last hour. "
                                           "You can send another in %s.", TEST_EMAIL_LIMIT,
                                           pm_minutes_text(p, (int)((wait + 59) / 60))), NULL);
}

/* The audit detail of a test email: the address's domain, never the address. */
static json_t *test_email_detail(pm_req *q, const char *addr)
{
    json_t *d = pm_json_object(q->r->pool);
    const char *at = strrchr(addr, '@');
    char *domain = apr_pstrdup(q->r->pool, at ? at + 1 : "");

    ap_str_tolower(domain);
    pm_json_set_str(d, "to_domain", domain);
    return d;
}

/* Queues the preview for `to` through the outbox, so it takes the real path. */
int pm_api_admin_test_email(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    json_t *to = pm_http_body_field(q, "to");
    const char *addr, *k, *lang, *problem, *now = pm_arg_int(p, pm_now_sec(q->r));
    apr_array_header_t *rows;
    pm_settings st;
    json_t *doc;
    int rc;

    if ((rc = pm_http_check_fields(q, test_email_fields)) != PM_NEXT) {
        return rc;
    }
    addr = json_is_string(to) ? json_string_value(to) : "";
    if ((problem = pm_email_problem(addr)) != NULL) {
        return pm_http_unprocessable(q, "invalid_email",
                                     apr_pstrcat(p, "This email address ", problem, ".", NULL), "to");
    }
    if ((rc = read_email_kind(q, "client", &k)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = read_email_language(q, &st, &lang)) != PM_NEXT
        || (rc = begin_test_email_txn(q)) != PM_NEXT
        || (rc = refuse_test_email_flood(q)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_select(q->db, PM_SQL_OUTBOX_INSERT_TEST, &rows,
                     apr_pstrcat(p, "test_", k, NULL), addr, lang,
                     pm_outbox_message_id(p, q->r->server), now, now) != APR_SUCCESS
        || rows->nelts != 1
        || pm_audit(q, "settings.test_email", 0, pm_row_int(pm_first_row(rows), INSERTED_ID, 0),
                    PM_AUDIT_OK, test_email_detail(q, addr)) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    pm_outbox_wake();
    doc = pm_json_object(p);
    pm_json_set_int(doc, "outbox_id", pm_row_int(pm_first_row(rows), INSERTED_ID, 0));
    pm_json_set_str(doc, "status", "queued");
    return pm_http_send_json(q, HTTP_ACCEPTED, doc);
}

/* ---- GET /admin/audit ------------------------------------------------------------------- */

typedef struct {
    const char *client_id, *username, *action, *result;
    long long from, to;       /* unix seconds: from <= at < to (the practice's days) */
    const char *zone;         /* the practice's time zone (setting time_zone): the days
                               * the page shows its times in */
    const char *before;       /* keyset: ids below this */
    const char *first_id, *end_id;   /* with dates: ids from, and below (audit_id_bounds) */
    int csv;
    int limit;                /* rows a JSON page shows (limit=, at most AUDIT_PAGE) */
    const char *sees_all;     /* "1" when the reader sees every client, else "0", and */
    const char *reader;       /* the reader's user name: whose clients' names a page
                               * shows (AUDIT_NAME_SEEN, each of the two names) */
} audit_query;

#define AUDIT_NAMES_FOR(aq) (aq)->sees_all, (aq)->reader, (aq)->sees_all, (aq)->reader

/* 1 and the UTC midnight starting it when s is a real date written YYYY-MM-DD */
static int audit_day_start(const char *s, long long *at)
{
    apr_time_exp_t e = { 0 };
    apr_time_t t;
    int y, m, d, n = 0;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10
        || s[4] != '-' || s[7] != '-' || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) {
        return 0;
    }
    e.tm_year = y - 1900;
    e.tm_mon = m - 1;
    e.tm_mday = d;
    if (apr_time_exp_gmt_get(&t, &e) != APR_SUCCESS) {
        return 0;
    }
    apr_time_exp_gmt(&e, t);
    if (e.tm_mday != d || e.tm_mon != m - 1) {
        return 0;                             /* 2026-02-30 and the like */
    }
    *at = apr_time_sec(t);
    return 1;
}

/* a result filter is a short lowercase word (ok, denied, ...) */
static int audit_result_word(const char *s)
{
    apr_size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");

    return n > 0 && n <= 32 && s[n] == '\0';
}

/* The practice's time zone, as the staff pages show times in it; UTC when ICU
 * cannot use the setting (the overview logs that). */
static int audit_zone(pm_req *q, audit_query *aq)
{
    pm_settings st;
    int rc;

    if ((rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    aq->zone = pm_practice_zone(q->r->pool, st.time_zone, NULL);
    return PM_NEXT;
}

static int parse_audit_range(pm_req *q, apr_table_t *args, audit_query *aq)
{
    const char *from = apr_table_get(args, "from"), *to = apr_table_get(args, "to");
    long long utc;
    int rc;

    aq->from = 0;
    aq->to = 9223372036854775807LL;
    if ((rc = audit_zone(q, aq)) != PM_NEXT) {
        return rc;
    }
    /* the days are the practice's, as every time on the page is (a day in UTC
     * started at 6 PM in Chicago: the evening's rows fell on the next day) */
    if (from && (!audit_day_start(from, &utc) || !pm_locale_day_start(from, 0, aq->zone, &aq->from))) {
        return pm_http_bad_parameter(q, "from", "from must be a date written YYYY-MM-DD.");
    }
    if (to && (!audit_day_start(to, &utc) || !pm_locale_day_start(to, 1, aq->zone, &aq->to))) {
        return pm_http_bad_parameter(q, "to", "to must be a date written YYYY-MM-DD.");
    }                                         /* to is inclusive: up to the next day */
    if (from && to && aq->from >= aq->to) {
        return pm_http_bad_parameter(q, "to", "to must not be before from.");
    }
    return PM_NEXT;
}

static const char *const audit_keys[] = {
    "client_id", "username", "action", "result", "from", "to", "limit", "cursor", "format", NULL
};

static int parse_audit_query(pm_req *q, audit_query *aq)
{
    apr_table_t *args;
    const char *cursor, *format;
    int rc;

    if ((rc = pm_http_read_query(q, audit_keys, &args)) != PM_NEXT
        || (rc = pm_http_query_id(q, args, "client_id", "client_id must be a client number.",
                                  &aq->client_id)) != PM_NEXT) {
        return rc;
    }
    aq->sees_all = q->staff->all_clients ? "1" : "0";
    aq->reader = q->staff->username;
    aq->username = apr_table_get(args, "username");
    aq->action = apr_table_get(args, "action");
    aq->result = apr_table_get(args, "result");
    cursor = apr_table_get(args, "cursor");
    format = apr_table_get(args, "format");
    aq->before = "9223372036854775807";
    aq->first_id = aq->end_id = NULL;
    if (aq->result && !audit_result_word(aq->result)) {
        return pm_http_bad_parameter(q, "result", "result must be a word such as ok or denied.");
    }
    if ((rc = parse_audit_range(q, args, aq)) != PM_NEXT
        || (rc = pm_api_read_limit(q, apr_table_get(args, "limit"), AUDIT_PAGE, AUDIT_PAGE,
                                   &aq->limit)) != PM_NEXT) {
        return rc;
    }
    if ((rc = pm_api_read_cursor(q, cursor, &aq->before, 1,
                                 "This page link is not valid any more; start again."))
        != PM_NEXT) {
        return rc;
    }
    if (format && strcmp(format, "csv") && strcmp(format, "json")) {
        return pm_http_bad_parameter(q, "format", "format must be json or csv.");
    }
    aq->csv = format && strcmp(format, "csv") == 0;
    return PM_NEXT;
}

/* Rows are written in time order, give or take the seconds a writer waits for its
 * turn; a range of dates is therefore a range of ids, found by bisecting the primary
 * key (about 20 lookups at 1,000,000 rows) instead of walking down the trail to an
 * old week (bench/console: 48x the time at 1,000 before). The exact dates are still
 * the statement's condition; the ids only bound where it looks, widened by this. */
#define AUDIT_CLOCK_SLACK 600

/* Below *out: every row written before t (the first id at or after t, or past it). */
static apr_status_t audit_first_id_at(pm_req *q, long long t, long long lo, long long hi,
                                      long long *out)
{
    apr_array_header_t *rows;

    hi++;                                     /* the answer is in [lo, hi] */
    while (lo < hi) {
        long long mid = lo + (hi - lo) / 2;
        if (pm_db_select(q->db, PM_SQL_AUDIT_ROW_FROM_ID, &rows,
                         pm_arg_int(q->r->pool, mid)) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (rows->nelts == 0 || pm_row_int(pm_first_row(rows), 1, 0) >= t) {
            hi = mid;
        }
        else {
            lo = pm_row_int(pm_first_row(rows), 0, mid) + 1;
        }
    }
    *out = lo;
    return APR_SUCCESS;
}

static apr_status_t audit_id_bounds(pm_req *q, audit_query *aq)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *rows;
    long long min_id, max_id, first = 0, end = 0;

    if (aq->first_id) {
        return APR_SUCCESS;                   /* the CSV's later pages */
    }
    if (pm_db_select(q->db, PM_SQL_AUDIT_ID_SPAN, &rows) != APR_SUCCESS || rows->nelts != 1) {
        return APR_EGENERAL;
    }
    min_id = pm_row_int(pm_first_row(rows), 0, 0);
    max_id = pm_row_int(pm_first_row(rows), 1, 0);
    if ((aq->from > 0 && audit_first_id_at(q, aq->from - AUDIT_CLOCK_SLACK, min_id, max_id,
                                           &first) != APR_SUCCESS)
        || audit_first_id_at(q, aq->to < 9223372036854775807LL - AUDIT_CLOCK_SLACK
                                ? aq->to + AUDIT_CLOCK_SLACK : aq->to,
                             min_id, max_id, &end) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    aq->first_id = pm_arg_int(p, first);
    aq->end_id = pm_arg_int(p, end);
    return APR_SUCCESS;
}

/* the page's upper id: the cursor's, or the dates' end when that is lower */
static const char *audit_before(pm_req *q, const audit_query *aq)
{
    return apr_atoi64(aq->end_id) < apr_atoi64(aq->before) ? aq->end_id : aq->before;
}

/* The actions every audited read writes: most of the trail, so a page of them is
 * among the newest rows; every other action has an index (audit_log_other_actions). */
static int audit_action_is_rare(const char *action)
{
    return action && strcmp(action, "client.view") != 0 && strcmp(action, "client.search") != 0;
}

/* A staff member's rows, the denied ones, or an uncommon action's, down their own
 * index; dates or none. */
static apr_status_t audit_page_indexed(pm_req *q, audit_query *aq, int dated, int limit,
                                       apr_array_header_t **rows)
{
    apr_pool_t *p = q->r->pool;
    const char *before = dated ? audit_before(q, aq) : aq->before;
    const char *first = dated ? aq->first_id : "0";
    const char *from = pm_arg_int(p, aq->from), *to = pm_arg_int(p, aq->to);

    if (aq->username) {
        return pm_db_select(q->db, PM_SQL_AUDIT_SEARCH_USER, rows, AUDIT_NAMES_FOR(aq),
                            aq->username, before, first,
                            aq->action, aq->action, aq->result, aq->result, from, to,
                            pm_arg_int(p, limit));
    }
    if (aq->result && strcmp(aq->result, PM_AUDIT_DENIED) == 0) {
        return pm_db_select(q->db, PM_SQL_AUDIT_SEARCH_DENIED, rows, AUDIT_NAMES_FOR(aq),
                            before, first, aq->action,
                            aq->action, from, to, pm_arg_int(p, limit));
    }
    return pm_db_select(q->db, PM_SQL_AUDIT_SEARCH_ACTION, rows, AUDIT_NAMES_FOR(aq),
                        aq->action, before, first,
                        aq->result, aq->result, from, to, pm_arg_int(p, limit));
}

/* The page's statement: a client's own rows, a staff member's, the denied ones, an
 * uncommon action's or the whole trail, with dates or without. Each shape is its own
 * statement so that no plan made before the values are known (SQLite's, PostgreSQL's
 * generic one) takes an index on `at` for a page without dates or walks the whole
 * trail for a filter that matches few rows (bench/console). */
static apr_status_t audit_page(pm_req *q, audit_query *aq, int limit,
                               apr_array_header_t **rows)
{
    apr_pool_t *p = q->r->pool;
    int dated = aq->from > 0 || aq->to < 9223372036854775807LL;

    if (dated && audit_id_bounds(q, aq) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (aq->client_id) {
        return dated
            ? pm_db_select(q->db, PM_SQL_AUDIT_SEARCH_CLIENT_RANGE, rows, AUDIT_NAMES_FOR(aq),
                           aq->client_id,
                           audit_before(q, aq), aq->first_id, aq->username, aq->username, aq->action, aq->action,
                           aq->result, aq->result, pm_arg_int(p, aq->from),
                           pm_arg_int(p, aq->to), pm_arg_int(p, limit))
            : pm_db_select(q->db, PM_SQL_AUDIT_SEARCH_CLIENT, rows, AUDIT_NAMES_FOR(aq),
                           aq->client_id,
                           aq->before, aq->username, aq->username, aq->action, aq->action,
                           aq->result, aq->result, pm_arg_int(p, limit));
    }
    if (aq->username || (aq->result && strcmp(aq->result, PM_AUDIT_DENIED) == 0)
        || audit_action_is_rare(aq->action)) {
        return audit_page_indexed(q, aq, dated, limit, rows);
    }
    return dated
        ? pm_db_select(q->db, PM_SQL_AUDIT_SEARCH_RANGE, rows, AUDIT_NAMES_FOR(aq),
                       audit_before(q, aq),
                       aq->first_id, aq->client_id,
                       aq->client_id, aq->username, aq->username, aq->action, aq->action,
                       aq->result, aq->result, pm_arg_int(p, aq->from), pm_arg_int(p, aq->to),
                       pm_arg_int(p, limit))
        : pm_db_select(q->db, PM_SQL_AUDIT_SEARCH, rows, AUDIT_NAMES_FOR(aq),
                       aq->before, aq->client_id,
                       aq->client_id, aq->username, aq->username, aq->action, aq->action,
                       aq->result, aq->result, pm_arg_int(p, limit));
}

/* "attachment; filename="audit-YYYY-MM-DD.csv"": the day of the export in the
 * practice's zone, so a second export does not overwrite the first in Downloads */
static const char *audit_csv_disposition(request_rec *r, const char *zone)
{
    const char *day = pm_locale_day_of(r->pool, apr_time_sec(r->request_time), zone);

    return apr_psprintf(r->pool, "attachment; filename=\"audit-%s.csv\"",
                        day ? day : "export");
}

/* Cuts a CSV download short the way httpd cuts a broken backend's answer: no last
 * chunk, the connection closed, so the browser or curl reports an incomplete file
 * rather than keeping one that looks whole. */
static void abort_download(request_rec *r)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);

    ap_rflush(r);
    r->no_cache = 1;
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(HTTP_BAD_GATEWAY, NULL, r->pool,
                                                       c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(c->bucket_alloc));
    ap_pass_brigade(r->output_filters, bb);
}

/* at_practice_time, the CSV's last column: the moment of `at` (UTC, as it always
 * was) on the practice's clock with its offset, as the screen and the file name read
 * it. Last, so a reader that takes the columns by position keeps working. */
static void put_audit_csv_practice_time(request_rec *r, pm_zone_clock *clock, const pm_row *row)
{
    const char *local = pm_row_str(row, AUDIT_AT) && clock
        ? pm_zone_clock_iso(clock, r->pool, pm_row_int(row, AUDIT_AT, 0)) : NULL;

    ap_rputs(",", r);
    ap_rputs(pm_csv_cell(r->pool, local), r);
}

static void put_audit_csv_rows(pm_req *q, audit_query *aq, pm_zone_clock *clock,
                               const apr_array_header_t *rows)
{
    request_rec *r = q->r;
    int i, col;

    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        for (col = 0; col < PM_NCOLS(PM_COLS_AUDIT); col++) {
            const char *v = pm_row_str(row, col);
            if (col == AUDIT_AT && v) {
                v = pm_rfc3339(r->pool, pm_row_int(row, col, 0));
            }
            ap_rputs(col ? "," : "", r);
            ap_rputs(pm_csv_cell(r->pool, v), r);  /* quoted, formulas neutralised */
        }
        put_audit_csv_practice_time(r, clock, row);
        ap_rputs("\r\n", r);
        aq->before = pm_row_str(row, AUDIT_ID);
    }
}

/* The first page is read before anything is sent, so a database that fails then is
 * a 503; one that fails on a later page cuts the download short (abort_download). */
static int send_audit_csv(pm_req *q, audit_query *aq)
{
    request_rec *r = q->r;
    apr_array_header_t *rows;
    pm_zone_clock *clock = pm_zone_clock_open(r->pool, aq->zone);

    if (audit_page(q, aq, CSV_PAGE, &rows) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/csv; charset=utf-8");
    apr_table_setn(r->headers_out, "Content-Disposition", audit_csv_disposition(r, aq->zone));
    /* a UTF-8 byte order mark first: Excel reads the file as UTF-8 then (María, not
     * MarÃ­a); every other CSV reader skips it */
    ap_rputs("\xEF\xBB\xBF", r);
    ap_rputs("id,at,username,action,client_id,object_id,result,detail,remote_ip,request_id,"
           "client_first_name,client_last_name,display_name,at_practice_time\r\n", r);
    put_audit_csv_rows(q, aq, clock, rows);
    while (rows->nelts == CSV_PAGE) {
        if (audit_page(q, aq, CSV_PAGE, &rows) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PM_LOGNO(00060)
                          "audit CSV cut short by a database error; the download ends "
                          "incomplete");
            abort_download(r);
            return OK;
        }
        put_audit_csv_rows(q, aq, clock, rows);
    }
    return OK;
}

/* an action's name as the trail writes them (client.emails_view), not free text */
static int audit_action_word(const char *s)
{
    const char *dot = strchr(s, '.');
    apr_size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz_.");

    /* an action's name is two words joined by one dot (client.view, outbox.retry):
     * a surname typed into the filter ("garcia", which the page lower-cases) is not
     * kept, though it is letters only */
    return n > 0 && n <= 64 && s[n] == '\0' && dot != NULL && dot != s && dot[1] != '\0'
           && strchr(dot + 1, '.') == NULL;
}

/* The filters a look at the trail used, for its own audit row's detail (not its
 * client_id: a look at a client's trail is not one of that client's own rows, which
 * it would then find among them): so that who looked at one client's trail (or one
 * colleague's) can be accounted for. Typed text that is
 * not a staff member's name or an action's is not kept (it could be anything, a
 * client's name too): only that there was some ("other_username", "other_action"). */
static apr_status_t audit_filters_json(pm_req *q, const audit_query *aq, json_t **out)
{
    apr_pool_t *p = q->r->pool;
    json_t *d = pm_json_object(p);
    apr_array_header_t *rows;

    if (aq->client_id) {
        pm_json_set_int(d, "client_id", apr_atoi64(aq->client_id));
    }
    else {
        pm_json_set_null(d, "client_id");
    }
    if (aq->username
        && pm_db_select(q->db, PM_SQL_STAFF_GET, &rows, aq->username) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    pm_json_set_str(d, "username", aq->username && rows->nelts ? aq->username : NULL);
    if (aq->username && rows->nelts == 0) {
        pm_json_set_bool(d, "other_username", 1);
    }
    pm_json_set_str(d, "action", aq->action && audit_action_word(aq->action) ? aq->action : NULL);
    if (aq->action && !audit_action_word(aq->action)) {
        pm_json_set_bool(d, "other_action", 1);
    }
    pm_json_set_str(d, "result", aq->result);       /* a word (parse_audit_query) */
    pm_json_set_str(d, "from", aq->from > 0 ? pm_rfc3339(p, aq->from) : NULL);
    pm_json_set_str(d, "before", aq->to < 9223372036854775807LL ? pm_rfc3339(p, aq->to) : NULL);
    *out = d;
    return APR_SUCCESS;
}

int pm_api_admin_audit(pm_req *q)
{
    audit_query aq;
    apr_array_header_t *rows;
    json_t *filters;
    int rc;

    if ((rc = parse_audit_query(q, &aq)) != PM_NEXT) {
        return rc;
    }
    if (audit_filters_json(q, &aq, &filters) != APR_SUCCESS
        || pm_audit(q, aq.csv ? "audit.export" : "audit.view", 0, 0, PM_AUDIT_OK, filters)
        != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (aq.csv) {
        return send_audit_csv(q, &aq);
    }
    if (audit_page(q, &aq, aq.limit + 1, &rows) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_json(q, HTTP_OK, pm_audit_page_json(q, rows, aq.limit, 1));
}
