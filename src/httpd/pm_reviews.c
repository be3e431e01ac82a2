/* pm_reviews.c — coming of age. A representative's grant that began while the client
 * was a minor (the day its invitation was made, PM_GRANT_BEGAN_AT) is due for review
 * from minor_review_days before the 18th birthday (days of the practice's zone) until
 * staff keep it (with a note) or end it; optionally the delivery worker ends the
 * unreviewed ones on the birthday. Whether a grant is due is pm_date_review_due's
 * call, on rows the SQL narrows to within two days (it knows no zone), read page by
 * page so that no row the SQL keeps hides another. */
#include "pm_reviews.h"
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_audit_group.h"
#include "pm_date.h"
#include "pm_locale.h"
#include "pm_op.h"
#include "pm_settings.h"
#include "pm_store.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

#define NOTE_MAX_CHARS  500

/* ---- the clock ------------------------------------------------------------------------ */

static void clock_from(apr_pool_t *p, const pm_settings *st, long long now, pm_review_clock *k)
{
    char *buf = apr_palloc(p, 64);

    k->zone = apr_pstrdup(p, pm_time_zone_name(st->time_zone, buf, 64));
    k->today = pm_locale_day_of(p, now, k->zone);
    k->review_days = (long)st->minor_review_days;
    k->end_at_majority = st->end_access_at_majority;
    k->loaded = k->today != NULL;
}

int pm_review_clock_load(pm_req *q, pm_review_clock *k)
{
    pm_settings st;
    int rc;

    if (k->loaded) {
        return PM_NEXT;
    }
    if ((rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    clock_from(q->r->pool, &st, pm_now_sec(q->r), k);
    return PM_NEXT;
}

/* Today by the server's UTC clock, `days` away: within a day of the practice's. */
static int utc_day(pm_req *q, long days, char out[11])
{
    return pm_date_utc_day(pm_now_sec(q->r), days, out);
}

/* ---- the client view ------------------------------------------------------------------- */

int pm_reviews_client_json(pm_req *q, pm_review_clock *k, const char *dob, json_t *view)
{
    char adult[11], lo[11], hi[11];
    int minor = 0, rc;

    if (dob && pm_date_birthday(dob, 18, adult) && utc_day(q, -1, lo) && utc_day(q, 1, hi)) {
        if (strcmp(adult, hi) > 0) {
            minor = 1;
        }
        else if (strcmp(adult, lo) > 0) {       /* near the birthday: the practice's day */
            if ((rc = pm_review_clock_load(q, k)) != PM_NEXT) {
                return rc;
            }
            minor = k->loaded && strcmp(k->today, adult) < 0;
        }
    }
    pm_json_set_bool(view, "minor", minor);
    pm_json_set_str(view, "turns_18_on", minor ? apr_pstrdup(q->r->pool, adult) : NULL);
    return PM_NEXT;
}

static json_t *review_json(pm_req *q, const pm_row *row)
{
    json_t *o;

    if (pm_row_str(row, ACCOUNT_REVIEW_DECISION) == NULL) {
        return json_null();
    }
    o = json_object();
    pm_json_set_str(o, "decision", pm_row_str(row, ACCOUNT_REVIEW_DECISION));
    pm_json_set_str(o, "note", pm_row_str(row, ACCOUNT_REVIEW_NOTE));
    pm_json_set_str(o, "reviewed_by", pm_row_str(row, ACCOUNT_REVIEWED_BY));
    pm_api_set_time(q, o, "reviewed_at", row, ACCOUNT_REVIEWED_AT);
    return o;
}

/* Could this open grant be due at all, by the server's clock (no settings)? */
static int could_be_due(pm_req *q, const char *dob, long long granted)
{
    char adult[11], far[11];

    return pm_date_birthday(dob, 18, adult) && utc_day(q, 367, far)
           && strcmp(adult, far) <= 0 && pm_date_utc_day(granted, -1, far)
           && strcmp(adult, far) > 0;
}

int pm_reviews_account_json(pm_req *q, pm_review_clock *k, const pm_row *row, json_t *a)
{
    const char *dob = pm_row_str(row, ACCOUNT_CLIENT_DOB), *granted_on;
    long long began = pm_row_int(row, ACCOUNT_GRANT_BEGAN_AT, 0);
    int due = 0, rc;

    if (pm_row_str(row, ACCOUNT_GRANT_ID)) {
        pm_json_set_int(a, "grant_id", pm_row_int(row, ACCOUNT_GRANT_ID, 0));
    }
    else {
        pm_json_set_null(a, "grant_id");
    }
    if (pm_row_str(row, ACCOUNT_REP_ID) && pm_row_str(row, ACCOUNT_GRANT_ID)
        && pm_row_str(row, ACCOUNT_REVIEW_DECISION) == NULL
        && strcmp(pm_row_str(row, ACCOUNT_GRANT_STATUS), "active") == 0
        && dob && could_be_due(q, dob, began)) {
        if ((rc = pm_review_clock_load(q, k)) != PM_NEXT) {
            return rc;
        }
        granted_on = k->loaded ? pm_locale_day_of(q->r->pool, began, k->zone) : NULL;
        due = k->loaded && pm_date_review_due(dob, granted_on, k->today, k->review_days);
    }
    pm_json_set_bool(a, "review_due", due);
    json_object_set_new(a, "review", review_json(q, row));
    return PM_NEXT;
}

/* ---- GET /reviews ------------------------------------------------------------------------ */

/* The latest date of birth that can be due: 18 years before today + review_days. */
static int review_cutoff(const pm_review_clock *k, char out[11])
{
    char ahead[11];

    return pm_date_add_days(k->today, k->review_days, ahead)
           && pm_date_birthday(ahead, -18, out);
}

static int row_due(apr_pool_t *p, const pm_review_clock *k, const pm_row *row)
{
    const char *granted_on = pm_locale_day_of(p, pm_row_int(row, REVIEW_GRANT_BEGAN_AT, 0),
                                              k->zone);

    return pm_date_review_due(pm_row_str(row, REVIEW_CLIENT_DOB), granted_on, k->today,
                              k->review_days);
}

static json_t *review_item_json(apr_pool_t *p, const pm_review_clock *k, const pm_row *row)
{
    json_t *o = json_object(), *client = json_object(), *rep = json_object(),
           *acct = json_object();
    char adult[11];

    pm_json_set_int(o, "grant_id", pm_row_int(row, REVIEW_GRANT_ID, 0));
    pm_json_set_int(client, "id", pm_row_int(row, REVIEW_CLIENT_ID, 0));
    pm_json_set_str(client, "first_name", pm_row_str(row, REVIEW_CLIENT_FIRST_NAME));
    pm_json_set_str(client, "last_name", pm_row_str(row, REVIEW_CLIENT_LAST_NAME));
    pm_json_set_str(client, "date_of_birth", pm_row_str(row, REVIEW_CLIENT_DOB));
    if (pm_date_birthday(pm_row_str(row, REVIEW_CLIENT_DOB), 18, adult)) {
        pm_json_set_str(client, "turns_18_on", apr_pstrdup(p, adult));
        pm_json_set_bool(client, "minor", strcmp(k->today, adult) < 0);
    }
    pm_json_set_int(rep, "id", pm_row_int(row, REVIEW_REP_ID, 0));
    pm_json_set_str(rep, "first_name", pm_row_str(row, REVIEW_REP_FIRST_NAME));
    pm_json_set_str(rep, "last_name", pm_row_str(row, REVIEW_REP_LAST_NAME));
    pm_json_set_str(rep, "relationship", pm_row_str(row, REVIEW_REP_RELATIONSHIP));
    pm_json_set_int(acct, "id", pm_row_int(row, REVIEW_ACCOUNT_ID, 0));
    pm_json_set_str(acct, "username", pm_row_str(row, REVIEW_USERNAME));
    json_object_set_new(o, "client", client);
    json_object_set_new(o, "representative", rep);
    json_object_set_new(o, "account", acct);
    return o;
}

/* The due reviews among the caseload's candidates, youngest first, at most
 * PM_SQL_REVIEW_PAGE: page after page while a full page leaves room. */
static int list_due(pm_req *q, const pm_review_clock *k, const char *cutoff, json_t *list)
{
    pm_sql_id sql = pm_db_is_pgsql(q->db) ? PM_SQL_REVIEW_CANDIDATES_PGSQL
                                          : PM_SQL_REVIEW_CANDIDATES;
    const char *dob = cutoff, *after = "0";
    apr_array_header_t *rows;
    int i;

    do {
        if (pm_db_select(q->db, sql, &rows, dob, dob, after, q->staff->username,
                         q->staff->username) != APR_SUCCESS) {
            return 0;
        }
        for (i = 0; i < rows->nelts && json_array_size(list) < PM_SQL_REVIEW_PAGE; i++) {
            const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
            if (row_due(q->r->pool, k, row)) {
                json_array_append_new(list, review_item_json(q->r->pool, k, row));
            }
            dob = pm_row_str(row, REVIEW_CLIENT_DOB);
            after = pm_row_str(row, REVIEW_GRANT_ID);
        }
    } while (rows->nelts == PM_SQL_REVIEW_PAGE && json_array_size(list) < PM_SQL_REVIEW_PAGE);
    return 1;
}

int pm_api_reviews_list(pm_req *q)
{
    pm_review_clock k = { 0 };
    char cutoff[11];
    json_t *doc, *list;
    int rc;

    if ((rc = pm_review_clock_load(q, &k)) != PM_NEXT) {
        return rc;
    }
    if (!k.loaded || !review_cutoff(&k, cutoff)) {
        return pm_http_db_unavailable(q);
    }
    list = json_array();
    if (!list_due(q, &k, cutoff, list)) {
        json_decref(list);
        return pm_http_db_unavailable(q);
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_int(doc, "count", (long long)json_array_size(list));
    json_object_set_new(doc, "reviews", list);
    if (pm_audit(q, "review.list", 0, 0, PM_AUDIT_OK, NULL) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- POST /grants/{id}/review {decision, note} ---------------------------------------------- */

static const pm_api_answer review_answers[] = {
    { PM_OP_NO_REPRESENTATIVE, NULL, HTTP_NOT_FOUND, "not_found",
      "There is no representative's access with this id.", NULL },
    { PM_OP_ANSWERED, NULL, HTTP_CONFLICT, "already_reviewed",
      "This access was already reviewed or has ended.", NULL },
    { PM_OP_NOT_PENDING, NULL, HTTP_CONFLICT, "review_not_due",
      "This access is not due for review: the client is not within the review period "
      "before their 18th birthday, or the access began after it.", NULL },
    { 0, NULL, 0, NULL, NULL, NULL }
};

static pm_op_outcome review_grant(pm_op_ctx *c, pm_review_clock *k, long long grant_id,
                                  const char *decision, const char *note, long long *client_id)
{
    const char *gid = pm_arg_int(c->pool, grant_id), *now = pm_arg_int(c->pool, c->now);
    const pm_row *g;
    pm_op_outcome o;
    int changed = 0, keep = strcmp(decision, "keep") == 0;
    json_t *detail;

    if ((o = pm_op_load_visible(c, PM_SQL_GRANT_GET_VISIBLE, grant_id, "grant.review", &g))
        != PM_OP_OK) {
        return o;
    }
    *client_id = pm_row_int(g, REVIEW_CLIENT_ID, 0);
    if (strcmp(pm_row_str(g, REVIEW_GRANT_STATUS), "active") != 0
        || pm_row_str(g, REVIEW_DECISION) != NULL) {
        return PM_OP_ANSWERED;
    }
    if (!row_due(c->pool, k, g)) {
        return PM_OP_NOT_PENDING;
    }
    if ((o = pm_op_begin_client_txn(c, *client_id)) != PM_OP_OK) {
        return o;
    }
    if ((keep ? pm_db_exec(c->db, PM_SQL_GRANT_REVIEW_KEEP, &changed, note,
                           c->staff->username, now, gid)
              : pm_db_exec(c->db, PM_SQL_GRANT_REVIEW_END, &changed, note,
                           c->staff->username, now, now, c->staff->username, gid))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        pm_db_rollback(c->db);
        return PM_OP_ANSWERED;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_str(detail, "decision", decision);
    pm_json_set_int(detail, "representative_id", pm_row_int(g, REVIEW_REP_ID, 0));
    pm_json_set_bool(detail, "has_note", note != NULL);
    return pm_op_finish(c, "grant.review", *client_id, grant_id, detail);
}

int pm_api_grant_review(pm_req *q)
{
    static const char *const fields[] = { "decision", "note", NULL };
    pm_review_clock k = { 0 };
    json_t *v = NULL;
    const char *decision, *note;
    long long client_id = 0;
    pm_op_outcome o;
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, fields)) != PM_NEXT
        || (rc = pm_api_optional_text(q, "note", NOTE_MAX_CHARS, &note)) != PM_NEXT) {
        return rc;
    }
    v = pm_http_body_field(q, "decision");
    decision = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(decision, "keep") != 0 && strcmp(decision, "end") != 0) {
        return pm_http_unprocessable(q, "invalid_decision",
                                     "The decision must be keep or end.", "decision");
    }
    if (strcmp(decision, "keep") == 0 && note == NULL) {
        return pm_http_unprocessable(q, "note_required", "Say why the access continues "
                                     "(for example: guardianship continues).", "note");
    }
    if ((rc = pm_review_clock_load(q, &k)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = review_grant(&c, &k, q->ids[0], decision, note, &client_id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, review_answers, "review", o);
    }
    return pm_api_send_client_of(q, client_id, HTTP_OK);
}

/* ---- the worker: end unreviewed grants at 18 ------------------------------------------------ */

static apr_time_t last_sweep;           /* the worker thread's own */

static void end_at_majority(server_rec *s, pm_db *db, apr_pool_t *p, const pm_review_clock *k,
                            const pm_row *row, long long now)
{
    const char *args[PM_AUDIT_ARGS] = { 0 };
    const char *gid = pm_row_str(row, REVIEW_GRANT_ID);
    int changed = 0;

    if (pm_db_begin(db) != APR_SUCCESS
        || pm_db_exec(db, PM_SQL_GRANT_END_MAJORITY, &changed, pm_arg_int(p, now), gid)
           != APR_SUCCESS) {
        pm_db_rollback(db);
        return;
    }
    args[0] = pm_arg_int(p, now);
    args[1] = "system";
    args[2] = "grant.end_at_majority";
    args[3] = pm_row_str(row, REVIEW_CLIENT_ID);
    args[4] = gid;
    args[5] = PM_AUDIT_OK;
    args[6] = apr_psprintf(p, "{\"representative_id\":%s,\"turned_18_on\":\"%s\"}",
                           pm_row_str(row, REVIEW_REP_ID), k->today);
    if (changed != 1 || pm_audit_group_write(db, p, args) != APR_SUCCESS
        || pm_db_commit(db) != APR_SUCCESS) {
        pm_db_rollback(db);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PM_LOGNO(00470)
                 "grant %s ended: its client turned 18 and nobody reviewed it", gid);
}

/* Has this candidate's client turned 18, and did its grant begin before that? */
static int ends_at_majority(apr_pool_t *p, const pm_review_clock *k, const pm_row *row)
{
    const char *granted_on = pm_locale_day_of(p, pm_row_int(row, REVIEW_GRANT_BEGAN_AT, 0),
                                              k->zone);
    char adult[11];

    return granted_on && pm_date_birthday(pm_row_str(row, REVIEW_CLIENT_DOB), 18, adult)
           && strcmp(adult, granted_on) > 0 && strcmp(adult, k->today) <= 0;
}

static void sweep(server_rec *s, pm_db *db, apr_pool_t *p)
{
    pm_sql_id sql = pm_db_is_pgsql(db) ? PM_SQL_MAJORITY_CANDIDATES_PGSQL
                                       : PM_SQL_MAJORITY_CANDIDATES;
    pm_settings st;
    pm_review_clock k = { 0 };
    apr_array_header_t *rows;
    char cutoff[11];
    long long now = apr_time_sec(apr_time_now());
    const char *after = "0";
    int i;

    if (pm_settings_load(db, p, &st) != APR_SUCCESS || !st.end_access_at_majority) {
        return;
    }
    clock_from(p, &st, now, &k);
    if (!k.loaded || !pm_date_birthday(k.today, -18, cutoff)) {
        return;
    }
    do {
        if (pm_db_select(db, sql, &rows, cutoff, after) != APR_SUCCESS) {
            return;
        }
        for (i = 0; i < rows->nelts; i++) {
            const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
            if (ends_at_majority(p, &k, row)) {
                end_at_majority(s, db, p, &k, row, now);
            }
            after = pm_row_str(row, REVIEW_GRANT_ID);
        }
    } while (rows->nelts == PM_SQL_MAJORITY_PAGE);
}

void pm_reviews_majority_sweep(server_rec *s, apr_pool_t *pool)
{
    apr_time_t now = apr_time_now();
    apr_pool_t *p;
    pm_db *db;

    if (now - last_sweep < pm_sweep_interval(s) || apr_pool_create(&p, pool) != APR_SUCCESS) {
        return;
    }
    last_sweep = now;
    if ((db = pm_db_open(s, p)) != NULL) {
        sweep(s, db, p);
        pm_db_close(db);
    }
    apr_pool_destroy(p);
}
