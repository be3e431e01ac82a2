/* pm_api_accounts.c — a client's portal accounts in the staff API: their JSON in
 * the client view, and the disable / enable / reset password buttons (thin
 * handlers over pm_op_account.c that answer with the client's whole view). */
#include "pm_api.h"
#include "pm_op.h"
#include "pm_reviews.h"
#include "pm_status.h"
#include "pm_text.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

#define REASON_MAX_CHARS 500

static const char *const disable_fields[] = { "reason", "client_id", NULL };
static const char *const no_fields[] = { NULL };

static const pm_api_answer answers[] = {
    { PM_OP_NO_ACCOUNT, NULL, HTTP_NOT_FOUND, "not_found",
      "There is no portal account with this id.", NULL },
    { PM_OP_ALREADY_DISABLED, NULL, HTTP_CONFLICT, "already_disabled",
      "This portal account is already disabled.", NULL },
    { PM_OP_ACCESS_ENDED, NULL, HTTP_CONFLICT, "access_ended",
      "This portal account no longer reaches this client.", NULL },
    { PM_OP_ALREADY_ENABLED, NULL, HTTP_CONFLICT, "already_enabled",
      "This portal account is already active.", NULL },
    { PM_OP_REP_REMOVED, NULL, HTTP_CONFLICT, "representative_removed",
      "This representative was removed from the client, so their account stays disabled. "
      "Invite them again if they should have access.", NULL },
    { PM_OP_DISCHARGED, NULL, HTTP_CONFLICT, "client_discharged",
      "This client is discharged (no longer active in the practice's records), so their "
      "portal accounts stay disabled.", NULL },
    { PM_OP_DECLINED, NULL, HTTP_CONFLICT, "client_declined",
      "The client declined the portal. Undo \"client declined\" first.", NULL },
    { PM_OP_ALREADY_ACTIVE, NULL, HTTP_CONFLICT, "already_active",
      "This person already has another active portal account.", NULL },
    { PM_OP_ACCOUNT_DISABLED, NULL, HTTP_CONFLICT, "account_disabled",
      "This portal account is disabled. Enable it first if the person should sign in "
      "again.", NULL },
    { PM_OP_NO_EMAIL, NULL, HTTP_CONFLICT, "no_email",
      "There is no email address on file for this person. Add it first.", NULL },
    { PM_OP_PENDING, "enable", HTTP_CONFLICT, "invitation_pending", "This person has an "
      "open invitation. Revoke it first, or let them accept it: that makes their "
      "account.", NULL },
    { PM_OP_PENDING, NULL, HTTP_CONFLICT, "invitation_pending",
      "An invitation to this person is still open. Revoke it first.", NULL },
    { PM_OP_SEND_LIMIT, NULL, HTTP_CONFLICT, "send_limit_reached", "This password reset link "
      "has been sent as often as allowed. It stays usable until it expires.", NULL },
    { PM_OP_CHANGED_MEANWHILE, NULL, HTTP_CONFLICT, "account_disabled",
      "This portal account was disabled meanwhile.", NULL },
    { PM_OP_EMAIL_BOUNCED, NULL, HTTP_CONFLICT, "email_bounced", "An email to this address "
      "bounced: the address does not work. Check it with the person and change it first.",
      NULL },
    { PM_OP_ADDRESSES_DIFFER, NULL, HTTP_CONFLICT, "addresses_differ", "This login also "
      "reaches another client whose records give this person a different email address, so "
      "no reset link goes out until the addresses agree. Ask the practice's portal champion.",
      NULL },
    { PM_OP_UNSEEN_CLIENTS, NULL, HTTP_CONFLICT, "reaches_other_clients", "This login also "
      "reaches a client you do not see, so only the practice's portal champion can turn it "
      "on again.", NULL },
    { 0, NULL, 0, NULL, NULL, NULL }
};

/* ---- JSON --------------------------------------------------------------------------- */

/* Who disabled it, as colleagues know them: the display name, else the username
 * (a program such as the roster sync has no staff row). */
static const char *disabled_by(const pm_row *row)
{
    const char *name = pm_row_str(row, ACCOUNT_DISABLED_BY_NAME);

    return name && *name ? name : pm_row_str(row, ACCOUNT_DISABLED_BY);
}

/* Until when the emailed password reset link works; null when none is open. */
static void reset_json(pm_req *q, json_t *a, const pm_row *row)
{
    if (pm_row_int(row, ACCOUNT_RESET_EXPIRES_AT, 0) > pm_now_sec(q->r)) {
        pm_api_set_time(q, a, "reset_expires_at", row, ACCOUNT_RESET_EXPIRES_AT);
    }
    else {
        pm_json_set_null(a, "reset_expires_at");
    }
}

/* A grant still active whose last day has passed (the representative's dates): its
 * access here is over though nobody ended it — when: the end of that day. */
static json_t *access_over_by_dates_json(pm_req *q, const pm_row *row)
{
    json_t *ended = json_object();

    pm_api_set_time(q, ended, "at", row, ACCOUNT_GRANT_ENDS_AT);
    pm_json_set_null(ended, "by");
    pm_json_set_str(ended, "reason", "dates");
    pm_json_set_null(ended, "note");
    return ended;
}

/* This client's grant: whether the login still reaches it, and when and why not
 * (a review, the representative's removal, a discharge, staff: with their note; the
 * representative's last day passed: reason dates). */
static void access_here_json(pm_req *q, json_t *a, const pm_row *row)
{
    const char *status = pm_row_str(row, ACCOUNT_GRANT_STATUS);
    json_t *ended;

    pm_json_set_int(a, "other_clients", pm_row_int(row, ACCOUNT_OTHER_CLIENTS, 0));
    if (status != NULL && strcmp(status, "active") == 0
        && !pm_grant_reaches(status, pm_row_str(row, ACCOUNT_GRANT_ENDS_AT), pm_now_sec(q->r))) {
        pm_json_set_str(a, "access_here", "ended");
        json_object_set_new(a, "access_ended", access_over_by_dates_json(q, row));
        return;
    }
    pm_json_set_str(a, "access_here", status);
    if (status == NULL || strcmp(status, "ended") != 0) {
        pm_json_set_null(a, "access_ended");
        return;
    }
    ended = json_object();
    pm_api_set_time(q, ended, "at", row, ACCOUNT_GRANT_ENDED_AT);
    pm_json_set_str(ended, "by", pm_row_str(row, ACCOUNT_GRANT_ENDED_BY));
    pm_json_set_str(ended, "reason", pm_row_str(row, ACCOUNT_GRANT_END_REASON));
    pm_json_set_str(ended, "note", pm_row_str(row, ACCOUNT_GRANT_END_NOTE));
    json_object_set_new(a, "access_ended", ended);
}

static json_t *account_json(pm_req *q, const pm_row *row)
{
    json_t *a = json_object();
    int rep = pm_row_str(row, ACCOUNT_REP_ID) != NULL;

    pm_json_set_int(a, "id", pm_row_int(row, ACCOUNT_ID, 0));
    pm_json_set_str(a, "username", pm_row_str(row, ACCOUNT_USERNAME));
    pm_json_set_str(a, "kind", rep ? "representative" : "client");
    if (rep) {
        pm_json_set_int(a, "representative_id", pm_row_int(row, ACCOUNT_REP_ID, 0));
    }
    else {
        pm_json_set_null(a, "representative_id");
    }
    pm_json_set_str(a, "status", pm_row_str(row, ACCOUNT_STATUS));
    pm_api_set_time(q, a, "created_at", row, ACCOUNT_CREATED_AT);
    pm_api_set_time(q, a, "disabled_at", row, ACCOUNT_DISABLED_AT);
    pm_json_set_str(a, "disabled_by", disabled_by(row));
    pm_json_set_str(a, "disabled_reason", pm_row_str(row, ACCOUNT_DISABLED_REASON));
    reset_json(q, a, row);
    access_here_json(q, a, row);
    return a;
}

int pm_api_accounts_json(pm_req *q, const char *client_id, json_t **out)
{
    apr_array_header_t *rows;
    pm_review_clock k = { 0 };
    json_t *a;
    int i, rc;

    if (pm_db_select(q->db, PM_SQL_CLIENT_ACCOUNTS, &rows, client_id) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    *out = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        json_array_append_new(*out, a = account_json(q, row));
        if ((rc = pm_reviews_account_json(q, &k, row, a)) != PM_NEXT) {
            json_decref(*out);
            *out = NULL;
            return rc;
        }
    }
    return PM_NEXT;
}

/* ---- POST /accounts/{id}/disable, /enable ------------------------------------------------ */

/* The optional client_id: the client whose card asks (0 when absent). */
static int asking_client(pm_req *q, long long *out)
{
    json_t *v = pm_http_body_field(q, "client_id");

    *out = 0;
    if (v == NULL || json_is_null(v)) {
        return PM_NEXT;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        return pm_http_unprocessable(q, "invalid_client_id",
                                     "The client_id must be a positive whole number.",
                                     "client_id");
    }
    *out = json_integer_value(v);
    return PM_NEXT;
}

int pm_api_account_disable(pm_req *q)
{
    const char *reason;
    long long client_id;
    pm_op_outcome o;
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, disable_fields)) != PM_NEXT
        || (rc = pm_api_optional_text(q, "reason", REASON_MAX_CHARS, &reason)) != PM_NEXT
        || (rc = asking_client(q, &client_id)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_account_disable(&c, q->ids[0], reason, &client_id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "disable", o);
    }
    return pm_api_send_client_of(q, client_id, HTTP_OK);
}

int pm_api_account_enable(pm_req *q)
{
    long long client_id;
    pm_op_outcome o;
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_account_enable(&c, q->ids[0], &client_id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "enable", o);
    }
    return pm_api_send_client_of(q, client_id, HTTP_OK);
}

/* ---- POST /accounts/{id}/password-reset ------------------------------------------------------ */

/* 202: the reset email is queued (the delivery worker sends it); the client view. */
int pm_api_account_password_reset(pm_req *q)
{
    long long client_id, wait;
    pm_op_outcome o;
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    o = pm_op_account_reset(&c, q->ids[0], &client_id, &wait);
    if (o == PM_OP_TOO_SOON) {
        return pm_api_resend_too_soon(q, wait);
    }
    if (o != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "password-reset", o);
    }
    return pm_api_send_client_of(q, client_id, HTTP_ACCEPTED);
}
