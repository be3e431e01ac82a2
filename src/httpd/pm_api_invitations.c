/* pm_api_invitations.c — the invitation buttons of the staff API: invite /
 * reinvite a client, resend, revoke, and invite many clients at once (bulk). Thin
 * handlers over pm_op_invitation.c: each answers at once; the delivery worker sends
 * the emails. */
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_op.h"
#include "pm_text.h"

#include "http_protocol.h"

#include <apr_hash.h>

APLOG_USE_MODULE(portal_manager);

static const char *const no_fields[] = { NULL };

#define DECLINED_MESSAGE "The client declined the portal. Clear \"client declined\" first."
#define PENDING_MESSAGE "An invitation is already on its way to this person. " \
                        "Use resend if it did not arrive."

static const pm_api_answer answers[] = {
    { PM_OP_NO_CLIENT, NULL, HTTP_NOT_FOUND, "not_found", "There is no client with this id.", NULL },
    { PM_OP_NO_INVITATION, NULL, HTTP_NOT_FOUND, "not_found",
      "There is no invitation with this id.", NULL },
    { PM_OP_ALREADY_ACTIVE, "invite", HTTP_CONFLICT, "already_active",
      "This client already has an active portal account.", NULL },
    { PM_OP_ALREADY_ACTIVE, NULL, HTTP_CONFLICT, "already_active",
      "This person already has an active portal account.", NULL },
    { PM_OP_NO_EMAIL, NULL, HTTP_CONFLICT, "no_email", "Enter the client's email address first.", NULL },
    { PM_OP_DECLINED, NULL, HTTP_CONFLICT, "client_declined", DECLINED_MESSAGE, NULL },
    { PM_OP_PENDING, NULL, HTTP_CONFLICT, "invitation_pending", PENDING_MESSAGE, NULL },
    { PM_OP_DISCHARGED, NULL, HTTP_CONFLICT, "client_discharged", PM_API_DISCHARGED, NULL },
    { PM_OP_NEEDS_A_LOOK, "invite", HTTP_CONFLICT, "reinvite_on_own_page", "The last invitation "
      "was locked after wrong dates of birth, or the client declined it: reinvite them on "
      "their own page, after checking with them.", NULL },
    { PM_OP_LOCKED, NULL, HTTP_CONFLICT, "locked", "This invitation is locked after too many "
      "wrong dates of birth. Check the date of birth on file, then invite again (a new "
      "invitation).", NULL },
    { PM_OP_NOT_PENDING, "revoke", HTTP_CONFLICT, "not_pending",
      "Only an invitation that is still open can be revoked.", NULL },
    { PM_OP_NOT_PENDING, NULL, HTTP_CONFLICT, "not_pending",
      "Only an invitation that is still open can be resent.", NULL },
    { PM_OP_CHANGED_MEANWHILE, NULL, HTTP_CONFLICT, "not_pending",
      "This invitation cannot be resent any more.", NULL },
    { PM_OP_ADDRESS_CHANGED, NULL, HTTP_CONFLICT, "address_changed", "This invitation went to "
      "an address that is no longer on file. Invite again to use the current address.", NULL },
    { PM_OP_SEND_LIMIT, NULL, HTTP_CONFLICT, "send_limit_reached", "This invitation has been "
      "sent as often as allowed. Revoke it and invite again.", NULL },
    { PM_OP_EMAIL_BOUNCED, NULL, HTTP_CONFLICT, "email_bounced", "An email to this address "
      "bounced: the address does not work. Check it with the person and change it first.",
      NULL },
    { 0, NULL, 0, NULL, NULL, NULL }
};

int pm_api_load_settings(pm_req *q, pm_settings *st)
{
    return pm_settings_load(q->db, q->r->pool, st) == APR_SUCCESS ? PM_NEXT
                                                                 : pm_http_db_unavailable(q);
}

const char *pm_api_practice_name(pm_req *q, const pm_settings *st)
{
    return pm_settings_practice_name(st, pm_server_config(q->r->server));
}

/* Answers `status` with the invitation as the client view shows it (same shape).
 * Writes JSON only: the outbox row queued earlier is what sends the email. */
int pm_api_answer_invitation(pm_req *q, int status, long long invitation_id)
{
    apr_array_header_t *rows;

    if (pm_db_select(q->db, PM_SQL_INVITATION_ONE, &rows,
                     pm_arg_int(q->r->pool, invitation_id)) != APR_SUCCESS || rows->nelts != 1) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_json(q, status,
                             pm_json_pool(q->r->pool,
                                          pm_api_invitation_json(q, &APR_ARRAY_IDX(rows, 0, pm_row))));
}

/* ---- POST /clients/{id}/invitations --------------------------------------------- */

int pm_api_invite_with(pm_req *q, pm_op_invite_fn op, const pm_api_answer *table)
{
    pm_op_ctx c;
    pm_op_outcome o;
    long long id;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = op(&c, q->ids[0], &id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, table, "invite", o);
    }
    return pm_api_answer_invitation(q, HTTP_CREATED, id);
}

int pm_api_client_invite(pm_req *q)
{
    return pm_api_invite_with(q, pm_op_invite_client, answers);
}

/* ---- /invitations/{id}/... -------------------------------------------------------- */

int pm_api_resend_too_soon(pm_req *q, long long wait)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", pm_arg_int(q->r->pool, wait));
    return pm_http_send_error(q, HTTP_TOO_MANY_REQUESTS, "resend_too_soon",
                              apr_psprintf(q->r->pool, "It was sent a moment ago. You can "
                                           "resend it in %s.",
                                           pm_minutes_text(q->r->pool, (int)((wait + 59) / 60))),
                              NULL);
}

int pm_api_invitation_resend(pm_req *q)
{
    pm_op_ctx c;
    pm_op_outcome o;
    long long wait;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    o = pm_op_resend(&c, q->ids[0], &wait);
    if (o == PM_OP_TOO_SOON) {
        return pm_api_resend_too_soon(q, wait);
    }
    if (o != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "resend", o);
    }
    return pm_api_answer_invitation(q, HTTP_OK, q->ids[0]);
}

int pm_api_invitation_revoke(pm_req *q)
{
    pm_op_ctx c;
    pm_op_outcome o;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_revoke(&c, q->ids[0])) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "revoke", o);
    }
    return pm_api_answer_invitation(q, HTTP_OK, q->ids[0]);
}

/* ---- POST /invitations/bulk ------------------------------------------------------- */

/* the most clients one bulk request may name */
#define BULK_MAX 500

static const char *const bulk_fields[] = { "client_ids", NULL };

static int bulk_refuse(pm_req *q, const char *code, const char *message)
{
    return pm_http_unprocessable(q, code, message, "client_ids");
}

/* client_ids: 1..BULK_MAX positive integers, none twice; PM_NEXT or a 422 sent. */
static int bulk_check_ids(pm_req *q, json_t *ids)
{
    apr_hash_t *seen = apr_hash_make(q->r->pool);
    size_t i;
    json_t *v;

    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        return bulk_refuse(q, "invalid_client_ids",
                           "client_ids must be a list of one or more client ids.");
    }
    if (json_array_size(ids) > BULK_MAX) {
        return bulk_refuse(q, "too_many_client_ids", apr_psprintf(q->r->pool,
                           "At most %d clients can be invited at once.", BULK_MAX));
    }
    json_array_foreach(ids, i, v) {
        json_int_t *id;

        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            return bulk_refuse(q, "invalid_client_ids",
                               "Every client id must be a positive whole number.");
        }
        id = apr_palloc(q->r->pool, sizeof(*id));
        *id = json_integer_value(v);
        if (apr_hash_get(seen, id, sizeof(*id)) != NULL) {
            return bulk_refuse(q, "duplicate_client_ids", apr_psprintf(q->r->pool,
                               "Client id %" APR_INT64_T_FMT " is listed twice.",
                               (apr_int64_t)*id));
        }
        apr_hash_set(seen, id, sizeof(*id), id);
    }
    return PM_NEXT;
}

/* One client's result; the reason is the error code the single invite would answer. */
static json_t *bulk_result(long long client_id, pm_op_outcome o)
{
    const pm_api_answer *a = o == PM_OP_OK ? NULL : pm_api_answer_find(answers, "invite", o);
    json_t *res = json_object();

    pm_json_set_int(res, "client_id", client_id);
    pm_json_set_str(res, "result", o == PM_OP_OK ? "queued" : "skipped");
    if (a != NULL) {
        pm_json_set_str(res, "reason", a->code);
    }
    else {
        pm_json_set_null(res, "reason");
    }
    return res;
}

/* The invitation.bulk audit row: how many were asked for, queued and skipped. */
static apr_status_t bulk_audit(pm_req *q, size_t requested, int queued)
{
    json_t *detail = pm_json_object(q->r->pool);

    pm_json_set_int(detail, "requested", (long long)requested);
    pm_json_set_int(detail, "queued", queued);
    pm_json_set_int(detail, "skipped", (long long)requested - queued);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00370)
                  "bulk invitation: %d of %d queued", queued, (int)requested);
    return pm_audit(q, "invitation.bulk", 0, 0, PM_AUDIT_OK, detail);
}

/* Invites each client in its own transaction (pm_op_invite_client, audited as the
 * single invite), so a refusal skips only that client. The first database failure
 * ends the request with 503: the clients before it stay invited (committed). */
int pm_api_invitations_bulk(pm_req *q)
{
    json_t *ids = pm_http_body_field(q, "client_ids");
    json_t *doc, *results, *v;
    pm_op_ctx c;
    pm_op_outcome o;
    long long invitation_id;
    size_t i;
    int rc, queued = 0;

    if ((rc = pm_http_check_fields(q, bulk_fields)) != PM_NEXT
        || (rc = bulk_check_ids(q, ids)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    c.bulk = 1;
    results = json_array();
    doc = pm_json_object(q->r->pool);
    json_object_set_new(doc, "results", results);
    json_array_foreach(ids, i, v) {
        o = pm_op_invite_client(&c, json_integer_value(v), &invitation_id);
        pm_db_rollback(q->db);       /* a refusal leaves its transaction open */
        if (o != PM_OP_OK && (o == PM_OP_DB_UNAVAILABLE
                              || pm_api_answer_find(answers, "invite", o) == NULL)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, PM_LOGNO(00371)
                          "bulk invitation stopped at client %d of %d (%s); %d queued before",
                          (int)i + 1, (int)json_array_size(ids), pm_op_outcome_name(o), queued);
            return pm_api_send_outcome(q, answers, "invite", o);
        }
        queued += o == PM_OP_OK;
        json_array_append_new(results, bulk_result(json_integer_value(v), o));
    }
    if (bulk_audit(q, json_array_size(ids), queued) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_json(q, HTTP_OK, doc);
}
