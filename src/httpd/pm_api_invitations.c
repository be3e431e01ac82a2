/* pm_api_invitations.c — the invitation buttons of the staff API: invite /
 * reinvite a client, resend, revoke. Thin handlers over pm_op_invitation.c: each
 * answers at once with the invitation; the delivery worker sends the email. */
#include "pm_api.h"
#include "pm_op.h"

#include "http_protocol.h"

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

/* 429 with Retry-After: the resend cooldown has `wait` seconds to go. */
static int resend_too_soon(pm_req *q, long long wait)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", pm_arg_int(q->r->pool, wait));
    return pm_http_send_error(q, HTTP_TOO_MANY_REQUESTS, "resend_too_soon",
                              apr_psprintf(q->r->pool, "It was sent a moment ago. You can "
                                           "resend it in %d minute(s).", (int)((wait + 59) / 60)),
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
        return resend_too_soon(q, wait);
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
