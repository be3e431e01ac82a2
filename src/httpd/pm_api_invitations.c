/* pm_api_invitations.c — the invitation buttons of the staff API: invite /
 * reinvite a client, resend, revoke. Each writes the invitation and its outbox
 * row in one transaction and answers at once; the delivery worker sends. */
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_outbox.h"
#include "pm_settings.h"
#include "pm_store.h"
#include "pm_text.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);


static const char *const no_fields[] = { NULL };

int pm_api_load_settings(pm_req *q, pm_settings *st)
{
    return pm_settings_load(q->db, q->r->pool, st) == APR_SUCCESS ? PM_NEXT
                                                                 : pm_http_db_unavailable(q);
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

/* Queue one email for an invitation (inside the caller's transaction). */
static apr_status_t queue_email(pm_req *q, long long invitation_id)
{
    apr_pool_t *p = q->r->pool;
    const char *now = pm_arg_int(p, pm_now_sec(q->r));

    return pm_db_exec(q->db, PM_SQL_OUTBOX_INSERT, NULL, pm_arg_int(p, invitation_id),
                      pm_outbox_message_id(p, q->r->server), now, now);
}

/* ---- POST /clients/{id}/invitations --------------------------------------------- */

static int refuse_client_invitation(pm_req *q, const pm_row *client)
{
    if (pm_row_int(client, CLIENT_ACCOUNTS, 0) > 0) {
        return pm_http_conflict(q, "already_active", "This client already has an active portal account.");
    }
    if (pm_row_str(client, CLIENT_EMAIL) == NULL || *pm_row_str(client, CLIENT_EMAIL) == '\0') {
        return pm_http_conflict(q, "no_email", "Enter the client's email address first.");
    }
    if (pm_row_str(client, CLIENT_DECLINED_AT) != NULL) {
        return pm_http_conflict(q, "client_declined",
                                "The client declined the portal. Clear \"client declined\" first.");
    }
    return PM_NEXT;
}

/* Inside the caller's transaction: a stale earlier invitation steps aside, the
 * new one is inserted (unless the unique index says one is pending) and its
 * email queued. *id = 0 when one is already pending. */
apr_status_t pm_api_create_invitation(pm_req *q, long long client_id, long long rep_id,
                                      const char *email, const pm_settings *st, long long *id)
{
    apr_pool_t *p = q->r->pool;
    long long now = pm_now_sec(q->r);
    const char *n = pm_arg_int(p, now);
    apr_array_header_t *rows;
    apr_status_t rv;

    rv = rep_id ? pm_db_exec(q->db, PM_SQL_INVITATION_SUPERSEDE_STALE_REP, NULL, n,
                             pm_arg_int(p, rep_id), n)
                : pm_db_exec(q->db, PM_SQL_INVITATION_SUPERSEDE_STALE_CLIENT, NULL, n,
                             pm_arg_int(p, client_id), n);
    if (rv != APR_SUCCESS
        || pm_db_select(q->db, PM_SQL_INVITATION_INSERT, &rows, pm_arg_int(p, client_id),
                        rep_id ? pm_arg_int(p, rep_id) : NULL, email, q->staff->username, n,
                        pm_arg_int(p, now + st->invitation_ttl_hours * 3600)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *id = pm_row_int(pm_first_row(rows), INSERTED_ID, 0);
    if (*id == 0) {
        return APR_SUCCESS;
    }
    if (pm_db_exec(q->db, PM_SQL_TOKENS_RETIRE_EARLIER, NULL, n, pm_arg_int(p, *id)) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_TOKENS_CLEAR_EARLIER, NULL, pm_arg_int(p, *id)) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_VERIFY_RESET_CLIENT, NULL, pm_arg_int(p, client_id))
           != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return queue_email(q, *id);
}

const char *pm_api_practice_name(pm_req *q, const pm_settings *st)
{
    pm_server_conf *conf = pm_server_config(q->r->server);

    return pm_settings_practice_name(st, conf);
}

int pm_api_invitation_pending(pm_req *q)
{
    return pm_http_conflict(q, "invitation_pending",
                            "An invitation is already on its way to this person. "
                            "Use resend if it did not arrive.");
}

/* Opens the transaction of a change to one client's invitations: takes the
 * client's row lock first, so that the checks after it read what the write will
 * see (an email change or "client declined" waits, or is already visible). */
int pm_api_begin_client_txn(pm_req *q, long long client_id)
{
    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_CLIENT_LOCK_ROW, NULL, pm_arg_int(q->r->pool, client_id))
           != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return PM_NEXT;
}

/* The client row again, read inside the transaction (after its row lock). */
static int reload_client(pm_req *q, const pm_row **client)
{
    return pm_api_load_visible(q, PM_SQL_CLIENT_GET_VISIBLE, NULL, "client", client);
}

int pm_api_client_invite(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    const pm_row *client;
    pm_settings st;
    long long id = 0;
    json_t *detail;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT
        || (rc = pm_api_load_visible_client(q, "invitation.create", &client)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = pm_api_begin_client_txn(q, q->ids[0])) != PM_NEXT
        || (rc = reload_client(q, &client)) != PM_NEXT
        || (rc = refuse_client_invitation(q, client)) != PM_NEXT) {
        return rc;
    }
    if (pm_api_create_invitation(q, q->ids[0], 0, pm_row_str(client, CLIENT_EMAIL), &st, &id)
        != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (id == 0) {                       /* the unique index kept the earlier one */
        return pm_api_invitation_pending(q);
    }
    detail = pm_json_object(p);
    pm_json_set_bool(detail, "reinvite", pm_row_str(client, CLIENT_INV_STATUS) != NULL);
    if (pm_audit(q, "invitation.create", q->ids[0], id, PM_AUDIT_OK, detail) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_api_answer_invitation(q, HTTP_CREATED, id);
}

/* ---- /invitations/{id}/... -------------------------------------------------------- */

static int load_visible_invitation(pm_req *q, const char *action, const pm_row **out)
{
    return pm_api_load_visible(q, PM_SQL_INVITATION_GET_VISIBLE, action, "invitation", out);
}

/* A resend goes only to a pending invitation, at the recipient's current address,
 * never while the client has declined or the recipient has an active account;
 * a locked invitation is never re-armed (staff invite again instead). Read inside
 * the resend's transaction. */
static int refuse_resend_state(pm_req *q, const pm_row *state)
{
    const char *status = pm_row_str(state, RESEND_STATUS);

    if (strcmp(status, "locked") == 0) {
        return pm_http_conflict(q, "locked", "This invitation is locked after too many wrong "
                                "dates of birth. Check the date of birth on file, then invite "
                                "again (a new invitation).");
    }
    if (strcmp(status, "pending") != 0) {
        return pm_http_conflict(q, "not_pending", "Only an invitation that is still open can be resent.");
    }
    if (pm_row_int(state, RESEND_CURRENT_ADDRESS, 0) != 1) {
        return pm_http_conflict(q, "address_changed", "This invitation went to an address that "
                                "is no longer on file. Invite again to use the current address.");
    }
    if (pm_row_int(state, RESEND_CLIENT_DECLINED, 0) != 0) {
        return pm_http_conflict(q, "client_declined",
                                "The client declined the portal. Clear \"client declined\" first.");
    }
    if (pm_row_int(state, RESEND_ACCOUNTS, 0) > 0) {
        return pm_http_conflict(q, "already_active", "This person already has an active portal account.");
    }
    return PM_NEXT;
}

static int load_resend_state(pm_req *q, const char *iid)
{
    apr_array_header_t *rows;

    if (pm_db_select(q->db, PM_SQL_INVITATION_RESEND_STATE, &rows, iid) != APR_SUCCESS
        || rows->nelts != 1) {
        return pm_http_db_unavailable(q);
    }
    return refuse_resend_state(q, &APR_ARRAY_IDX(rows, 0, pm_row));
}

/* The invitation row again (send count, last send), read inside the transaction. */
static int reload_invitation(pm_req *q, const pm_row **inv)
{
    return pm_api_load_visible(q, PM_SQL_INVITATION_GET_VISIBLE, NULL, "invitation", inv);
}

static int refuse_resend(pm_req *q, const pm_row *inv, const pm_settings *st)
{
    long long wait = pm_row_int(inv, VISIBLE_INV_LAST_QUEUED_AT, 0)
                     + st->resend_cooldown_minutes * 60 - pm_now_sec(q->r);

    if (pm_row_int(inv, VISIBLE_INV_QUEUED_COUNT, 0) >= st->max_sends_per_invitation) {
        return pm_http_conflict(q, "send_limit_reached",
                                "This invitation has been sent as often as allowed. "
                                "Revoke it and invite again.");
    }
    if (wait > 0) {
        apr_table_setn(q->r->err_headers_out, "Retry-After", pm_arg_int(q->r->pool, wait));
        return pm_http_send_error(q, HTTP_TOO_MANY_REQUESTS, "resend_too_soon",
                                  apr_psprintf(q->r->pool, "It was sent a moment ago. You can "
                                               "resend it in %d minute(s).",
                                               (int)((wait + 59) / 60)), NULL);
    }
    return PM_NEXT;
}

int pm_api_invitation_resend(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    const pm_row *inv;
    pm_settings st;
    long long now = pm_now_sec(q->r);
    const char *iid = pm_arg_int(p, q->ids[0]);
    int rc, changed = 0;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT
        || (rc = load_visible_invitation(q, "invitation.resend", &inv)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = pm_api_begin_client_txn(q, pm_row_int(inv, VISIBLE_INV_CLIENT_ID, 0)))
           != PM_NEXT
        || (rc = load_resend_state(q, iid)) != PM_NEXT
        || (rc = reload_invitation(q, &inv)) != PM_NEXT
        || (rc = refuse_resend(q, inv, &st)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_exec(q->db, PM_SQL_TOKEN_RETIRE, NULL, pm_arg_int(p, now), iid) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_INVITATION_RESEND, &changed,
                      pm_arg_int(p, now + st.invitation_ttl_hours * 3600), iid) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (changed != 1) {
        return pm_http_conflict(q, "not_pending", "This invitation cannot be resent any more.");
    }
    if (pm_db_exec(q->db, PM_SQL_OUTBOX_CANCEL_QUEUED, NULL, iid) != APR_SUCCESS
        || queue_email(q, q->ids[0]) != APR_SUCCESS
        || pm_audit(q, "invitation.resend", pm_row_int(inv, VISIBLE_INV_CLIENT_ID, 0), q->ids[0],
                    PM_AUDIT_OK, NULL) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_api_answer_invitation(q, HTTP_OK, q->ids[0]);
}

int pm_api_invitation_revoke(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    const pm_row *inv;
    int rc, changed = 0;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT
        || (rc = load_visible_invitation(q, "invitation.revoke", &inv)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_INVITATION_REVOKE, &changed, pm_arg_int(p, pm_now_sec(q->r)),
                      pm_arg_int(p, q->ids[0])) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (changed != 1) {
        return pm_http_conflict(q, "not_pending", "Only an invitation that is still open can be revoked.");
    }
    if (pm_audit(q, "invitation.revoke", pm_row_int(inv, VISIBLE_INV_CLIENT_ID, 0), q->ids[0],
                 PM_AUDIT_OK, NULL) != APR_SUCCESS || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_api_answer_invitation(q, HTTP_OK, q->ids[0]);
}
