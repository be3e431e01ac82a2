/* pm_api_clients.c — one client in the staff API: the Client Portal Manager view
 * and its status poll, the email "change" button, "client declined" and its undo,
 * preferences (thin handlers over pm_op_client.c), and the client's audit trail;
 * the client and invitation JSON shapes. Visibility is decided in SQL; an
 * invisible client is a 404, audited. */
#include "pm_api.h"
#include "pm_reviews.h"
#include "pm_audit.h"
#include "pm_client_keys.h"
#include "pm_collate.h"
#include "pm_date.h"
#include "pm_op.h"
#include "pm_status.h"
#include "pm_store.h"
#include "pm_text.h"
#include "pm_token.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

#define AUDIT_PAGE_LIMIT   50
#define NOTE_MAX_CHARS     500

/* ---- JSON shapes ------------------------------------------------------------ */

static const char *row_portal_status(pm_req *q, const pm_row *row)
{
    pm_status_facts f;

    f.has_active_account = pm_row_int(row, CLIENT_ACCOUNTS, 0) > 0;
    f.declined_by_client = pm_row_str(row, CLIENT_DECLINED_AT) != NULL;
    f.invitation_status = pm_row_str(row, CLIENT_INV_STATUS);
    f.invitation_expires_at = pm_row_int(row, CLIENT_INV_EXPIRES_AT, 0);
    f.delivery_status = pm_row_str(row, CLIENT_DELIVERY);
    f.now = pm_now_sec(q->r);
    return pm_portal_status(&f);
}

json_t *pm_api_client_summary_json(pm_req *q, const pm_row *row)
{
    json_t *c = json_object();

    pm_json_set_int(c, "id", pm_row_int(row, CLIENT_ID, 0));
    pm_json_set_str(c, "first_name", pm_row_str(row, CLIENT_FIRST_NAME));
    pm_json_set_str(c, "last_name", pm_row_str(row, CLIENT_LAST_NAME));
    pm_json_set_str(c, "date_of_birth", pm_row_str(row, CLIENT_DATE_OF_BIRTH));
    pm_json_set_str(c, "external_id", pm_row_str(row, CLIENT_EXTERNAL_ID));
    pm_json_set_str(c, "portal_status", row_portal_status(q, row));
    return c;
}

void pm_api_set_time(pm_req *q, json_t *obj, const char *key, const pm_row *row, int col)
{
    const char *v = pm_row_str(row, col);

    pm_json_set_str(obj, key, v ? pm_rfc3339(q->r->pool, pm_row_int(row, col, 0)) : NULL);
}

/* The bounce read for the invitation's latest email (portal-manager-admin bounce):
 * {type: hard|soft, reason, at, cleared_at (staff saved the address since: no
 * longer refused; null)}, or null */
static json_t *bounce_json(pm_req *q, const pm_row *row)
{
    json_t *b;

    if (pm_row_str(row, INV_BOUNCE_TYPE) == NULL) {
        return json_null();
    }
    b = json_object();
    pm_json_set_str(b, "type", pm_row_str(row, INV_BOUNCE_TYPE));
    pm_json_set_str(b, "reason", pm_row_str(row, INV_BOUNCE_REASON));
    pm_api_set_time(q, b, "at", row, INV_BOUNCED_AT);
    pm_api_set_time(q, b, "cleared_at", row, INV_BOUNCE_CLEARED_AT);
    return b;
}

/* An invitation row's status (PM_SQL_CLIENT_INVITATIONS / INVITATION_ONE), with a
 * supersede by an email change told apart from one by a newer invitation. */
static const char *stored_invitation_status(const pm_row *row)
{
    return pm_row_int(row, INV_ADDRESS_CHANGED, 0) == 1 ? "address_changed"
                                                         : pm_row_str(row, INV_STATUS);
}

/* The setting resend_cooldown_minutes, read once per request and only when an
 * answer shows a pending invitation with an email; -1 when the settings cannot be
 * read (the moment is then not shown: the resend itself still says it). */
static long long resend_cooldown_seconds(pm_req *q)
{
    static const char key[] = "pm_resend_cooldown";
    long long *cached = NULL;
    pm_settings st;

    apr_pool_userdata_get((void **)&cached, key, q->r->pool);
    if (cached == NULL) {
        cached = apr_palloc(q->r->pool, sizeof *cached);
        *cached = pm_settings_load(q->db, q->r->pool, &st) == APR_SUCCESS
                  ? st.resend_cooldown_minutes * 60 : -1;
        apr_pool_userdata_setn(cached, key, NULL, q->r->pool);
    }
    return *cached;
}

/* resend_available_at: when the resend cooldown after a pending invitation's latest
 * email ends, while it has not (a resend before it is refused 429 resend_too_soon);
 * null otherwise */
static void set_resend_available_at(pm_req *q, json_t *inv, const char *status,
                                    const pm_row *row)
{
    long long at, cooldown;

    if (strcmp(status, "pending") != 0 || pm_row_str(row, INV_LAST_QUEUED_AT) == NULL
        || (cooldown = resend_cooldown_seconds(q)) < 0
        || (at = pm_row_int(row, INV_LAST_QUEUED_AT, 0) + cooldown) <= pm_now_sec(q->r)) {
        pm_json_set_null(inv, "resend_available_at");
        return;
    }
    pm_json_set_str(inv, "resend_available_at", pm_rfc3339(q->r->pool, at));
}

json_t *pm_api_invitation_json(pm_req *q, const pm_row *row)
{
    json_t *inv = json_object();
    const char *rep = pm_row_str(row, INV_REP_ID);
    const char *status = pm_invitation_status(stored_invitation_status(row),
                                              pm_row_int(row, INV_EXPIRES_AT, 0),
                                              pm_now_sec(q->r));

    pm_json_set_int(inv, "id", pm_row_int(row, INV_ID, 0));
    if (rep) {
        pm_json_set_int(inv, "representative_id", pm_row_int(row, INV_REP_ID, 0));
    }
    else {
        pm_json_set_null(inv, "representative_id");
    }
    pm_json_set_str(inv, "email", pm_row_str(row, INV_EMAIL));
    pm_json_set_str(inv, "status", status);
    pm_json_set_str(inv, "created_by", pm_row_str(row, INV_CREATED_BY));
    pm_json_set_str(inv, "created_by_name", pm_row_str(row, INV_CREATED_BY_NAME));
    pm_api_set_time(q, inv, "created_at", row, INV_CREATED_AT);
    pm_api_set_time(q, inv, "expires_at", row, INV_EXPIRES_AT);
    pm_api_set_time(q, inv, "sent_at", row, INV_SENT_AT);
    pm_api_set_time(q, inv, "responded_at", row, INV_RESPONDED_AT);
    pm_json_set_int(inv, "send_count", pm_row_int(row, INV_SEND_COUNT, 0));
    pm_json_set_str(inv, "delivery", pm_row_str(row, INV_DELIVERY));
    pm_json_set_str(inv, "delivery_error", pm_row_str(row, INV_DELIVERY_ERROR));
    json_object_set_new(inv, "bounce", bounce_json(q, row));
    if (pm_row_str(row, INV_DELIVERY) && strcmp(pm_row_str(row, INV_DELIVERY), "queued") == 0) {
        pm_api_set_time(q, inv, "next_attempt_at", row, INV_NEXT_ATTEMPT_AT);
    }
    else {
        pm_json_set_null(inv, "next_attempt_at");
    }
    set_resend_available_at(q, inv, status, row);
    return inv;
}

/* The newest invitation row for a representative (rows are newest first). */
static const pm_row *latest_for_representative(apr_array_header_t *invs, long long rep_id)
{
    int i;

    for (i = 0; i < invs->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(invs, i, pm_row);
        if (pm_row_str(row, INV_REP_ID) && pm_row_int(row, INV_REP_ID, 0) == rep_id) {
            return row;
        }
    }
    return NULL;
}

/* A representative's accounts: active while the access lasts; once its last day has
 * passed (the grant's dates exclude it, though nobody ended the grant) an active login
 * is kept, its access here over, as after a review's "End access". */
static void rep_account_facts(pm_status_facts *f, const pm_row *row)
{
    int over = pm_access_over(pm_row_str(row, REP_ENDS_AT), f->now);
    int active = pm_row_int(row, REP_ACCOUNTS, 0) > 0;

    f->has_active_account = active && !over;
    f->has_kept_account = pm_row_int(row, REP_KEPT_ACCOUNTS, 0) > 0 || (active && over);
}

static json_t *representative_json(pm_req *q, const pm_row *row, apr_array_header_t *invs)
{
    json_t *rep = json_object();
    long long id = pm_row_int(row, REP_ID, 0);
    const pm_row *inv = latest_for_representative(invs, id);
    pm_status_facts f = { 0 };

    pm_json_set_int(rep, "id", id);
    pm_json_set_str(rep, "email", pm_row_str(row, REP_EMAIL));
    pm_json_set_str(rep, "first_name", pm_row_str(row, REP_FIRST_NAME));
    pm_json_set_str(rep, "last_name", pm_row_str(row, REP_LAST_NAME));
    pm_json_set_str(rep, "relationship", pm_row_str(row, REP_RELATIONSHIP));
    pm_json_set_str(rep, "preferred_language", pm_row_str(row, REP_LANGUAGE));
    pm_api_set_time(q, rep, "created_at", row, REP_CREATED_AT);
    pm_api_rep_access_json(q, rep, pm_row_str(row, REP_SCOPES), pm_row_str(row, REP_STARTS_AT),
                           pm_row_str(row, REP_ENDS_AT));
    f.now = pm_now_sec(q->r);
    rep_account_facts(&f, row);
    f.invitation_status = inv ? stored_invitation_status(inv) : NULL;
    f.invitation_expires_at = inv ? pm_row_int(inv, INV_EXPIRES_AT, 0) : 0;
    f.delivery_status = inv ? pm_row_str(inv, INV_DELIVERY) : NULL;
    pm_json_set_str(rep, "portal_status", pm_portal_status(&f));
    json_object_set_new(rep, "latest_invitation", inv ? pm_api_invitation_json(q, inv) : json_null());
    return rep;
}

/* ---- loading ------------------------------------------------------------------ */

/* The row of a client-scoped object (client, invitation, representative) if this
 * staff member may see its client. Otherwise a 404 that reads exactly like a
 * missing id, and an audit row with result "denied". */
int pm_api_load_visible(pm_req *q, pm_sql_id stmt, const char *action, const char *noun,
                        const pm_row **out)
{
    pm_op_ctx c;
    pm_op_outcome o;

    pm_op_ctx_init(&c, q);
    o = pm_op_load_visible(&c, stmt, q->ids[0], action, out);
    if (o == PM_OP_OK) {
        return PM_NEXT;
    }
    if (o == PM_OP_DB_UNAVAILABLE) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_error(q, HTTP_NOT_FOUND, "not_found",
                              apr_psprintf(q->r->pool, "There is no %s with this id.", noun), NULL);
}

int pm_api_load_visible_client(pm_req *q, const char *action, const pm_row **out)
{
    return pm_api_load_visible(q, PM_SQL_CLIENT_GET_VISIBLE, action, "client", out);
}

/* A list of the view's: its statement's rows, or none without asking when the
 * client row says it has none (has_col 0; a row without the column asks). */
static apr_status_t select_list(pm_req *q, const pm_row *row, int has_col, pm_sql_id stmt,
                                apr_array_header_t **rows)
{
    if (pm_row_int(row, has_col, 1) == 0) {
        *rows = apr_array_make(q->r->pool, 1, sizeof(pm_row));
        return APR_SUCCESS;
    }
    return pm_db_select(q->db, stmt, rows, pm_row_str(row, CLIENT_ID));
}

int pm_api_build_client_view(pm_req *q, const pm_row *row, json_t **out)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *invs, *reps;
    json_t *view, *list, *declined, *accounts;
    const char *id = pm_row_str(row, CLIENT_ID);
    int i, rc;

    if (select_list(q, row, CLIENT_HAS_INVITATIONS, PM_SQL_CLIENT_INVITATIONS, &invs) != APR_SUCCESS
        || select_list(q, row, CLIENT_HAS_REPRESENTATIVES, PM_SQL_CLIENT_REPRESENTATIVES, &reps)
           != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (pm_row_int(row, CLIENT_HAS_GRANTS, 1) == 0) {
        accounts = json_array();
    }
    else if ((rc = pm_api_accounts_json(q, id, &accounts)) != PM_NEXT) {
        return rc;
    }
    view = pm_json_pool(p, pm_api_client_summary_json(q, row));
    pm_json_set_str(view, "email", pm_row_str(row, CLIENT_EMAIL));
    if (pm_row_str(row, CLIENT_DECLINED_AT)) {
        declined = json_object();
        pm_api_set_time(q, declined, "at", row, CLIENT_DECLINED_AT);
        pm_json_set_str(declined, "by", pm_row_str(row, CLIENT_DECLINED_BY));
        pm_json_set_str(declined, "by_name", pm_row_str(row, CLIENT_DECLINED_BY_NAME));
        pm_json_set_str(declined, "note", pm_row_str(row, CLIENT_DECLINED_NOTE));
        json_object_set_new(view, "declined_by_client", declined);
    }
    else {
        pm_json_set_null(view, "declined_by_client");
    }
    pm_json_set_bool(view, "statement_notifications", pm_row_int(row, CLIENT_STATEMENTS, 1) == 1);
    pm_json_set_bool(view, "active", pm_row_int(row, CLIENT_ACTIVE, 1) == 1);
    /* set by the roster sync (or import); null: the practice's default_language */
    pm_json_set_str(view, "preferred_language", pm_row_str(row, CLIENT_LANGUAGE));
    {
        pm_review_clock k = { 0 };
        if ((rc = pm_reviews_client_json(q, &k, pm_row_str(row, CLIENT_DATE_OF_BIRTH), view))
            != PM_NEXT) {
            json_decref(accounts);
            return rc;
        }
    }
    list = json_array();
    for (i = 0; i < invs->nelts; i++) {
        json_array_append_new(list, pm_api_invitation_json(q, &APR_ARRAY_IDX(invs, i, pm_row)));
    }
    json_object_set_new(view, "invitations", list);
    list = json_array();
    for (i = 0; i < reps->nelts; i++) {
        json_array_append_new(list, representative_json(q, &APR_ARRAY_IDX(reps, i, pm_row), invs));
    }
    json_object_set_new(view, "representatives", list);
    json_object_set_new(view, "accounts", accounts);
    *out = view;
    return PM_NEXT;
}

/* Re-read the client after a change and answer with the whole view. */
static int send_client_view(pm_req *q, const char *action)
{
    const pm_row *row;
    json_t *view;
    int rc;

    if ((rc = pm_api_load_visible_client(q, action, &row)) != PM_NEXT
        || (rc = pm_api_build_client_view(q, row, &view)) != PM_NEXT) {
        return rc;
    }
    return pm_http_send_json(q, HTTP_OK, view);
}

/* ---- GET /clients/{id} ---------------------------------------------------------- */

/* The view's version: a hash of everything it says (its text, as sent), as a strong ETag. */
static const char *view_etag(pm_req *q, const char *text)
{
    const char *hash = pm_token_hash(q->r->pool, text);

    return apr_pstrcat(q->r->pool, "\"", apr_pstrndup(q->r->pool, hash, 32), "\"", NULL);
}

int pm_api_client_view(pm_req *q)
{
    const pm_row *row;
    const char *text;
    json_t *view;
    int rc;

    if ((rc = pm_api_load_visible_client(q, "client.view", &row)) != PM_NEXT
        || (rc = pm_api_build_client_view(q, row, &view)) != PM_NEXT) {
        return rc;
    }
    if (pm_audit(q, "client.view", q->ids[0], 0, PM_AUDIT_OK, NULL) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    /* serialized once: the ETag is the hash of the very text sent */
    text = pm_json_text(q->r->pool, view);
    apr_table_setn(q->r->err_headers_out, "ETag", view_etag(q, text));
    return pm_http_send_json_text(q, HTTP_OK, text);
}

/* ---- GET /clients/{id}/status ----------------------------------------------------- */

/* The open page's refresh: has anything in the view changed since the ETag it
 * holds? 304 when not; otherwise the new version and portal_status (no name,
 * date of birth or address: the page reads the view again, which is audited).
 * Not audited itself: it shows nothing about the client but that it changed.
 * An invisible client is still a 404 with a "denied" audit row. */
int pm_api_client_status(pm_req *q)
{
    const pm_row *row;
    const char *etag, *match;
    json_t *view, *doc;
    int rc;

    if ((rc = pm_api_load_visible_client(q, "client.status", &row)) != PM_NEXT
        || (rc = pm_api_build_client_view(q, row, &view)) != PM_NEXT) {
        return rc;
    }
    etag = view_etag(q, pm_json_text(q->r->pool, view));
    apr_table_setn(q->r->err_headers_out, "ETag", etag);
    match = apr_table_get(q->r->headers_in, "If-None-Match");
    if (match && strcmp(match, etag) == 0) {
        q->r->status = HTTP_NOT_MODIFIED;
        return OK;
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_int(doc, "id", q->ids[0]);
    pm_json_set_str(doc, "portal_status", json_string_value(json_object_get(view, "portal_status")));
    pm_json_set_str(doc, "version", etag);
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- changes --------------------------------------------------------------------- */

static const char *const email_fields[] = { "email", "notify_old_address", NULL };
static const char *const declined_fields[] = { "note", "disable_account", NULL };
static const char *const preference_fields[] = { "statement_notifications", NULL };
static const char *const no_fields[] = { NULL };

static const pm_api_answer answers[] = {
    { PM_OP_NO_CLIENT, NULL, HTTP_NOT_FOUND, "not_found", "There is no client with this id.", NULL },
    { PM_OP_ACCOUNT_ACTIVE, NULL, HTTP_CONFLICT, "account_active", "This client already has an "
      "active portal account. To record that the client declined, disable that account too "
      "(disable_account: true).", "disable_account" },
    { 0, NULL, 0, NULL, NULL, NULL }
};

/* After an operation on the client: its outcome's error, or the fresh client view. */
static int answer_change(pm_req *q, const char *action, pm_op_outcome o)
{
    return o == PM_OP_OK ? send_client_view(q, action) : pm_api_send_outcome(q, answers, action, o);
}

static int required_body(pm_req *q, const char *field, const char *what)
{
    return pm_http_unprocessable(q, apr_pstrcat(q->r->pool, "invalid_", field, NULL),
                                 apr_pstrcat(q->r->pool, what, " is required.", NULL), field);
}

int pm_api_read_notify_old_address(pm_req *q, int *notify)
{
    json_t *flag = pm_http_body_field(q, "notify_old_address");

    *notify = 1;
    if (flag == NULL) {
        return PM_NEXT;
    }
    if (!json_is_boolean(flag)) {
        return pm_http_unprocessable(q, "invalid_notify_old_address",
                                     "notify_old_address must be true or false.",
                                     "notify_old_address");
    }
    *notify = json_is_true(flag);
    return PM_NEXT;
}

int pm_api_client_set_email(pm_req *q)
{
    json_t *value = pm_http_body_field(q, "email");
    const char *email, *problem;
    pm_op_ctx c;
    int rc, notify;

    if ((rc = pm_http_check_fields(q, email_fields)) != PM_NEXT
        || (rc = pm_api_read_notify_old_address(q, &notify)) != PM_NEXT) {
        return rc;
    }
    if (!json_is_string(value)) {
        return required_body(q, "email", "An email address");
    }
    email = json_string_value(value);
    if ((problem = pm_email_problem(email)) != NULL) {
        return pm_http_unprocessable(q, "invalid_email", apr_pstrcat(q->r->pool, "This email "
                                     "address ", problem, ".", NULL), "email");
    }
    pm_op_ctx_init(&c, q);
    return answer_change(q, "client.email_change", pm_op_client_set_email(&c, q->ids[0], email,
                                                                            notify));
}

/* An optional text field of the body (a note, a reason): absent, null or "" is
 * none (*out NULL); otherwise valid UTF-8 of at most max characters, or a 422 with
 * code "invalid_<field>". */
int pm_api_optional_text(pm_req *q, const char *field, int max, const char **out)
{
    apr_pool_t *p = q->r->pool;
    json_t *value = pm_http_body_field(q, field);
    const char *code = apr_pstrcat(p, "invalid_", field, NULL);

    *out = NULL;
    if (!value || json_is_null(value)) {
        return PM_NEXT;
    }
    if (!json_is_string(value)) {
        return pm_http_unprocessable(q, code, apr_psprintf(p, "The %s must be text.", field),
                                     field);
    }
    *out = json_string_value(value);
    if (!pm_utf8_valid(*out, strlen(*out), 1) || pm_utf8_length(*out) > (size_t)max) {
        return pm_http_unprocessable(q, code, apr_psprintf(p, "The %s must be at most %d "
                                     "characters of text.", field, max), field);
    }
    if (**out == '\0') {
        *out = NULL;
    }
    return PM_NEXT;
}

/* After a change: the client's whole view (ids[0] becomes the client id). */
int pm_api_send_client_of(pm_req *q, long long client_id, int status)
{
    const pm_row *client;
    json_t *view;
    int rc;

    q->ids[0] = client_id;
    if ((rc = pm_api_load_visible_client(q, "client.view", &client)) != PM_NEXT
        || (rc = pm_api_build_client_view(q, client, &view)) != PM_NEXT) {
        return rc;
    }
    return pm_http_send_json(q, status, view);
}

int pm_api_client_set_declined(pm_req *q)
{
    json_t *flag = pm_http_body_field(q, "disable_account");
    const char *note;
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, declined_fields)) != PM_NEXT
        || (rc = pm_api_optional_text(q, "note", NOTE_MAX_CHARS, &note)) != PM_NEXT) {
        return rc;
    }
    if (flag && !json_is_null(flag) && !json_is_boolean(flag)) {
        return pm_http_unprocessable(q, "invalid_disable_account", "disable_account must be true or false.",
                                     "disable_account");
    }
    pm_op_ctx_init(&c, q);
    return answer_change(q, "client.declined",
                         pm_op_client_set_declined(&c, q->ids[0], note, json_is_true(flag)));
}

int pm_api_client_clear_declined(pm_req *q)
{
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    return answer_change(q, "client.declined_cleared", pm_op_client_clear_declined(&c, q->ids[0]));
}

int pm_api_client_set_preferences(pm_req *q)
{
    json_t *value = pm_http_body_field(q, "statement_notifications");
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, preference_fields)) != PM_NEXT) {
        return rc;
    }
    if (!json_is_boolean(value)) {
        return pm_http_unprocessable(q, "invalid_preference",
                                     "statement_notifications must be true or false.",
                                     "statement_notifications");
    }
    pm_op_ctx_init(&c, q);
    return answer_change(q, "client.preferences",
                         pm_op_client_set_preferences(&c, q->ids[0], json_is_true(value)));
}

/* ---- GET /clients/{id}/audit ------------------------------------------------------ */

int pm_api_client_audit(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    apr_table_t *args;
    const char *before = "9223372036854775807";
    const pm_row *client;
    apr_array_header_t *rows;
    int rc;

    if ((rc = pm_http_read_query(q, pm_api_cursor_keys, &args)) != PM_NEXT
        || (rc = pm_api_read_cursor(q, apr_table_get(args, "cursor"), &before, 1,
                                 "This page link is not valid any more; start again.")) != PM_NEXT
        || (rc = pm_api_load_visible_client(q, "client.audit_view", &client)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_select(q->db, PM_SQL_AUDIT_BY_CLIENT, &rows,
                     "1", q->staff->username, "1", q->staff->username,  /* names unused */
                     pm_arg_int(p, q->ids[0]), before,
                     pm_arg_int(p, AUDIT_PAGE_LIMIT + 1)) != APR_SUCCESS
        || pm_audit(q, "client.audit_view", q->ids[0], 0, PM_AUDIT_OK, NULL) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_json(q, HTTP_OK, pm_audit_page_json(q, rows, AUDIT_PAGE_LIMIT, 0));
}
