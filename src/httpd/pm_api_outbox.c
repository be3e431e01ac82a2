/* pm_api_outbox.c — the delivery queue as people read it: the champions' outbox
 * (GET /admin/outbox, retry now, cancel: the rows of the clients the champion may
 * view and the test emails, audited) and one client's emails for anyone who may
 * view that client (GET /clients/{id}/emails). Each row's shown status is
 * PM_OUTBOX_SHOWN_STATUS's (pm_sql.c); the worker itself is pm_outbox.c. */
#include "pm_api.h"
#include "pm_outbox_wake.h"
#include "pm_audit.h"
#include "pm_store.h"
#include "pm_text.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

#define OUTBOX_PAGE      100

/* ---- GET /admin/outbox ------------------------------------------------------------------ */

static const char *const outbox_statuses[] = {
    "queued", "sending", "retrying", "sent", "bounced", "failed", "cancelled", NULL
};

static int known_outbox_status(const char *status)
{
    int i;

    for (i = 0; outbox_statuses[i]; i++) {
        if (strcmp(status, outbox_statuses[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* What the email was, in the words the screens use: the notice of an address change
 * (to the old address), a test email, a password reset, or an invitation to the
 * client or to one of its representatives. */
static const char *outbox_kind(const pm_row *row)
{
    const char *kind = pm_row_str(row, OUTBOX_INVITATION_KIND);

    if (strcmp(pm_row_str(row, OUTBOX_PURPOSE), "address_notice") == 0) {
        return "address_notice";
    }
    if (pm_row_str(row, OUTBOX_INVITATION_ID) == NULL) {
        return "test";
    }
    if (kind && strcmp(kind, "reset") == 0) {
        return "password_reset";
    }
    return pm_row_str(row, OUTBOX_REPRESENTATIVE_ID) ? "representative_invitation"
                                                     : "client_invitation";
}

static json_t *outbox_entry_json(apr_pool_t *p, const pm_row *row)
{
    json_t *e = json_object();

    pm_json_set_int(e, "id", pm_row_int(row, OUTBOX_ID, 0));
    if (pm_row_str(row, OUTBOX_INVITATION_ID)) {
        pm_json_set_int(e, "invitation_id", pm_row_int(row, OUTBOX_INVITATION_ID, 0));
    }
    else {
        pm_json_set_null(e, "invitation_id");
    }
    if (pm_row_str(row, OUTBOX_CLIENT_ID)) {       /* an invitation's, an address notice's */
        pm_json_set_int(e, "client_id", pm_row_int(row, OUTBOX_CLIENT_ID, 0));
    }
    else {
        pm_json_set_null(e, "client_id");
    }
    pm_json_set_str(e, "client_first_name", pm_row_str(row, OUTBOX_FIRST_NAME));
    pm_json_set_str(e, "client_last_name", pm_row_str(row, OUTBOX_LAST_NAME));
    pm_json_set_str(e, "purpose", pm_row_str(row, OUTBOX_PURPOSE));
    pm_json_set_str(e, "kind", outbox_kind(row));
    pm_json_set_str(e, "to", pm_row_str(row, OUTBOX_TO));
    pm_json_set_str(e, "status", pm_row_str(row, OUTBOX_STATUS));
    pm_json_set_int(e, "attempts", pm_row_int(row, OUTBOX_ATTEMPTS, 0));
    pm_json_set_str(e, "last_error", pm_row_str(row, OUTBOX_LAST_ERROR));
    pm_json_set_str(e, "created_at", pm_rfc3339(p, pm_row_int(row, OUTBOX_CREATED_AT, 0)));
    pm_json_set_str(e, "next_attempt_at", pm_rfc3339(p, pm_row_int(row, OUTBOX_NEXT_ATTEMPT_AT, 0)));
    pm_json_set_str(e, "sent_at", pm_row_str(row, OUTBOX_SENT_AT)
                                  ? pm_rfc3339(p, pm_row_int(row, OUTBOX_SENT_AT, 0)) : NULL);
    if (pm_row_str(row, OUTBOX_BOUNCE_TYPE)) {        /* portal-manager-admin bounce */
        json_t *b = json_object();
        pm_json_set_str(b, "type", pm_row_str(row, OUTBOX_BOUNCE_TYPE));
        pm_json_set_str(b, "reason", pm_row_str(row, OUTBOX_BOUNCE_REASON));
        json_object_set_new(e, "bounce", b);
    }
    else {
        pm_json_set_null(e, "bounce");
    }
    return e;
}

typedef struct {
    const char *status, *client_id;
    const char *id;           /* one row (?id=: the settings screen following its test email) */
    const char *before;       /* keyset: ids below this */
    int limit;                /* rows a page shows (limit=, at most OUTBOX_PAGE) */
} outbox_query;

static const char *const outbox_keys[] = { "status", "client_id", "id", "limit", "cursor", NULL };

static int parse_outbox_query(pm_req *q, outbox_query *oq)
{
    apr_table_t *args;
    int rc;

    if ((rc = pm_http_read_query(q, outbox_keys, &args)) != PM_NEXT
        || (rc = pm_http_query_id(q, args, "client_id", "client_id must be a client number.",
                                  &oq->client_id)) != PM_NEXT
        || (rc = pm_http_query_id(q, args, "id", "id must be an email's number.", &oq->id))
           != PM_NEXT) {
        return rc;
    }
    oq->status = apr_table_get(args, "status");
    oq->before = "9223372036854775807";
    if (oq->status && !known_outbox_status(oq->status)) {
        return pm_http_bad_parameter(q, "status", "status must be queued, sending, retrying, "
                                     "sent, bounced, failed or cancelled.");
    }
    if ((rc = pm_api_read_limit(q, apr_table_get(args, "limit"), OUTBOX_PAGE, OUTBOX_PAGE,
                                &oq->limit)) != PM_NEXT) {
        return rc;
    }
    return pm_api_read_cursor(q, apr_table_get(args, "cursor"), &oq->before, 1,
                              "This page link is not valid any more; start again.");
}

static json_t *outbox_counts_json(const apr_array_header_t *counts)
{
    json_t *c = json_object();
    int i;

    json_object_set_new(c, "queued", json_integer(0));
    json_object_set_new(c, "failed", json_integer(0));
    json_object_set_new(c, "sent_last_7_days", json_integer(0));
    for (i = 0; i < counts->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(counts, i, pm_row);
        pm_json_set_int(c, pm_row_str(row, OUTBOX_COUNT_STATUS),
                        pm_row_int(row, OUTBOX_COUNT_ROWS, 0));
    }
    return c;
}

/* Does the one row ?id= read pass the page's other filters? */
static int outbox_row_matches(const outbox_query *oq, const pm_row *row)
{
    const char *client = pm_row_str(row, OUTBOX_CLIENT_ID);

    return pm_row_int(row, OUTBOX_ID, 0) < apr_atoi64(oq->before)
           && (!oq->status || strcmp(pm_row_str(row, OUTBOX_STATUS), oq->status) == 0)
           && (!oq->client_id || (client && strcmp(client, oq->client_id) == 0));
}

/* The page's rows, only those the staff member may see (the statements'
 * OUTBOX_CLIENT_VISIBLE_TO: a client they may view, or none). */
static apr_status_t outbox_page(pm_req *q, const outbox_query *oq, apr_array_header_t **rows)
{
    const char *limit = pm_arg_int(q->r->pool, oq->limit + 1), *who = q->staff->username;
    apr_status_t rv;

    if (oq->id) {
        if ((rv = pm_db_select(q->db, PM_SQL_OUTBOX_GET, rows, oq->id, who, who)) == APR_SUCCESS
            && (*rows)->nelts == 1 && !outbox_row_matches(oq, pm_first_row(*rows))) {
            (*rows)->nelts = 0;
        }
        return rv;
    }
    if (oq->client_id) {                      /* from the client's own invitations */
        return pm_db_select(q->db, PM_SQL_OUTBOX_PAGE_CLIENT, rows, oq->client_id, oq->before,
                            oq->status, oq->status, oq->client_id, oq->before, oq->status,
                            oq->status, who, who, limit);
    }
    if (oq->status && strcmp(oq->status, "bounced") == 0) {  /* the few hard bounces */
        return pm_db_select(q->db, PM_SQL_OUTBOX_PAGE_BOUNCED, rows, oq->before, who, who, limit);
    }
    if (oq->status && strcmp(oq->status, "sent") != 0) {    /* the few stored that way */
        int failed = !strcmp(oq->status, "failed") || !strcmp(oq->status, "cancelled");
        return pm_db_select(q->db, failed ? PM_SQL_OUTBOX_PAGE_FAILED : PM_SQL_OUTBOX_PAGE_QUEUED,
                            rows, oq->before, oq->status, who, who, limit);
    }
    return pm_db_select(q->db, PM_SQL_OUTBOX_PAGE, rows, oq->before, oq->status, oq->status,
                        oq->client_id, oq->client_id, who, who, limit);
}

/* How many of the page's shown rows are a client's (an invitation, a reset, a notice) */
static int outbox_client_rows(const apr_array_header_t *rows, int limit)
{
    int i, n = 0;

    for (i = 0; i < rows->nelts && i < limit; i++) {
        n += pm_row_str(&APR_ARRAY_IDX(rows, i, pm_row), OUTBOX_CLIENT_ID) != NULL;
    }
    return n;
}

/* Each page of the outbox is PHI read (clients' names and addresses): an outbox.view
 * row with the filters and how many rows it showed, never an address. A page that
 * is empty or denied writes one too (who asked about which client). The one
 * exception: ?id= of a row with no client (a test email being followed, once a
 * second) reads nothing of a client's and writes nothing. */
/* The client a page is about, for its audit row's client column: the filter's, or
 * for one email (?id=) its client's, so that the read is in that client's trail. */
static long long outbox_audit_client(const outbox_query *oq, const apr_array_header_t *rows)
{
    if (oq->client_id) {
        return apr_atoi64(oq->client_id);
    }
    if (oq->id && rows->nelts > 0) {
        return pm_row_int(&APR_ARRAY_IDX(rows, 0, pm_row), OUTBOX_CLIENT_ID, 0);
    }
    return 0;
}

static apr_status_t audit_outbox_page(pm_req *q, const outbox_query *oq,
                                      const apr_array_header_t *rows)
{
    int shown = rows->nelts < oq->limit ? rows->nelts : oq->limit;
    json_t *detail;

    if (oq->id && outbox_client_rows(rows, oq->limit) == 0) {
        return APR_SUCCESS;
    }
    detail = pm_json_object(q->r->pool);
    pm_json_set_int(detail, "rows", shown);
    pm_json_set_str(detail, "status", oq->status);
    if (oq->client_id) {
        pm_json_set_int(detail, "client_id", apr_atoi64(oq->client_id));
    }
    else {
        pm_json_set_null(detail, "client_id");
    }
    if (oq->id) {
        pm_json_set_int(detail, "id", apr_atoi64(oq->id));
    }
    return pm_audit(q, "outbox.view", outbox_audit_client(oq, rows),
                    oq->id ? apr_atoi64(oq->id) : 0, PM_AUDIT_OK, detail);
}

/* doc with the page's entries and its next_cursor, answered 200 */
static int send_outbox_page(pm_req *q, json_t *doc, const apr_array_header_t *rows, int limit)
{
    static const int key_cols[] = { OUTBOX_ID };
    json_t *list = json_array();
    int i;

    for (i = 0; i < rows->nelts && i < limit; i++) {
        json_array_append_new(list, outbox_entry_json(q->r->pool,
                                                      &APR_ARRAY_IDX(rows, i, pm_row)));
    }
    json_object_set_new(doc, "entries", list);
    pm_api_end_page(q, doc, rows, limit, key_cols, 1);
    return pm_http_send_json(q, HTTP_OK, doc);
}

int pm_api_admin_outbox(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *counts, *rows;
    outbox_query oq;
    json_t *doc;
    int rc;

    if ((rc = parse_outbox_query(q, &oq)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_select(q->db, pm_db_is_pgsql(q->db) ? PM_SQL_OUTBOX_COUNTS_PGSQL
                                                  : PM_SQL_OUTBOX_COUNTS, &counts,
                     pm_arg_int(p, pm_now_sec(q->r) - 7 * 86400)) != APR_SUCCESS
        || outbox_page(q, &oq, &rows) != APR_SUCCESS
        || audit_outbox_page(q, &oq, rows) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    doc = pm_json_object(p);
    json_object_set_new(doc, "counts", outbox_counts_json(counts));
    pm_json_set_int(doc, "counts_cap", PM_OUTBOX_COUNT_CAP);   /* a count this high: "or more" */
    return send_outbox_page(q, doc, rows, oq.limit);
}

/* ---- POST /admin/outbox/{id}/retry, /admin/outbox/{id}/cancel --------------------------- */

static const char *const no_fields[] = { NULL };

/* One outbox row changed by `stmt` (whose conditions say which statuses allow it):
 * 200 with the row as it is now, 404 for no such row or one of a client the
 * champion may not view (the same answer), 409 when its status (read after the
 * refusal, so a worker's claim in between is what it shows) does not allow the
 * change. The change and its audit row commit together. */
static int change_outbox_row(pm_req *q, pm_sql_id stmt, const char *action,
                             const char *allowed)
{
    apr_pool_t *p = q->r->pool;
    const char *id = pm_arg_int(p, q->ids[0]), *who = q->staff->username;
    const char *status, *before;
    apr_array_header_t *rows;
    long long client_id;
    json_t *detail;
    int changed = 0, rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    /* whether it may be seen, and what it was for the audit row (the change below
     * still decides by its WHERE) */
    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_select(q->db, PM_SQL_OUTBOX_GET, &rows, id, who, who) != APR_SUCCESS) {
        pm_db_rollback(q->db);
        return pm_http_db_unavailable(q);
    }
    if (rows->nelts != 1) {
        pm_db_rollback(q->db);
        return pm_http_send_error(q, HTTP_NOT_FOUND, "not_found", "There is no such email.", NULL);
    }
    before = pm_row_str(pm_first_row(rows), OUTBOX_STATUS);
    if ((stmt == PM_SQL_OUTBOX_RETRY_NOW
         ? pm_db_exec(q->db, stmt, &changed, pm_arg_int(p, pm_now_sec(q->r)), id)
         : pm_db_exec(q->db, stmt, &changed, id)) != APR_SUCCESS
        || pm_db_select(q->db, PM_SQL_OUTBOX_GET, &rows, id, who, who) != APR_SUCCESS
        || rows->nelts != 1) {
        pm_db_rollback(q->db);
        return pm_http_db_unavailable(q);
    }
    status = pm_row_str(pm_first_row(rows), OUTBOX_STATUS);
    client_id = pm_row_int(pm_first_row(rows), OUTBOX_CLIENT_ID, 0);
    detail = pm_json_object(p);
    pm_json_set_str(detail, "status", status);
    pm_json_set_str(detail, "from", before);     /* queued, retrying or failed */
    if (changed != 1) {
        pm_db_rollback(q->db);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00480)
                      "%s of outbox row %s refused: it is %s", action, id, status);
        return pm_http_conflict(q, "outbox_status",
                                apr_psprintf(p, "This email is %s; only %s emails can be %s.",
                                             status, allowed,
                                             stmt == PM_SQL_OUTBOX_CANCEL ? "cancelled"
                                                                          : "retried"));
    }
    if (pm_audit(q, action, client_id, q->ids[0], PM_AUDIT_OK, detail) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        pm_db_rollback(q->db);
        return pm_http_db_unavailable(q);
    }
    if (stmt == PM_SQL_OUTBOX_RETRY_NOW) {
        pm_outbox_wake();
    }
    return pm_http_send_json(q, HTTP_OK, outbox_entry_json(p, pm_first_row(rows)));
}

int pm_api_admin_outbox_retry(pm_req *q)
{
    return change_outbox_row(q, PM_SQL_OUTBOX_RETRY_NOW, "outbox.retry", "retrying or failed");
}

int pm_api_admin_outbox_cancel(pm_req *q)
{
    return change_outbox_row(q, PM_SQL_OUTBOX_CANCEL, "outbox.cancel", "queued or retrying");
}

/* ---- GET /clients/{id}/emails ------------------------------------------------------------ */

/* One client's emails (its own and its representatives' invitations, password resets),
 * newest first, for anyone who may view the client: the History tab's list. Reading it
 * writes a client.emails_view row. */
int pm_api_client_emails(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    apr_table_t *args;
    outbox_query oq = { NULL, NULL, NULL, "9223372036854775807", OUTBOX_PAGE };
    apr_array_header_t *rows;
    const pm_row *client;
    json_t *doc;
    int rc;

    if ((rc = pm_http_read_query(q, pm_api_cursor_keys, &args)) != PM_NEXT
        || (rc = pm_api_read_cursor(q, apr_table_get(args, "cursor"), &oq.before, 1,
                                 "This page link is not valid any more; start again.")) != PM_NEXT
        || (rc = pm_api_load_visible_client(q, "client.emails_view", &client)) != PM_NEXT) {
        return rc;
    }
    oq.client_id = pm_arg_int(p, q->ids[0]);
    if (outbox_page(q, &oq, &rows) != APR_SUCCESS
        || pm_audit(q, "client.emails_view", q->ids[0], 0, PM_AUDIT_OK, NULL) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    doc = pm_json_object(p);
    return send_outbox_page(q, doc, rows, oq.limit);
}
