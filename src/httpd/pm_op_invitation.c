/* pm_op_invitation.c — the invitation operations: create one inside a client's
 * transaction (supersede, insert, retire earlier tokens, queue its email), invite
 * or reinvite a client, resend, revoke; a password reset link is created and sent
 * again by the same steps. The delivery worker sends the email. */
#include "pm_op.h"
#include "pm_audit.h"
#include "pm_outbox.h"
#include "pm_token.h"

/* Queue one email for an invitation (inside the caller's transaction), with the
 * random part of its link (pm_token_derive): ids a restored database hands out
 * again never make an earlier email's link again. */
static apr_status_t queue_email(pm_op_ctx *c, long long invitation_id)
{
    const char *now = pm_arg_int(c->pool, c->now);
    const char *nonce = pm_random_hex(c->pool, 16);

    if (nonce == NULL) {
        return APR_EGENERAL;
    }
    c->queued_mail = 1;
    return pm_db_exec(c->db, PM_SQL_OUTBOX_INSERT, NULL, pm_arg_int(c->pool, invitation_id),
                      pm_outbox_message_id(c->pool, c->q->r->server), nonce, now, now);
}

apr_status_t pm_op_queue_address_notice(pm_op_ctx *c, int of_rep, long long person_id,
                                        const char *new_email, int notify, pm_notice *notice)
{
    const char *now = pm_arg_int(c->pool, c->now), *id = pm_arg_int(c->pool, person_id);
    apr_array_header_t *rows;
    int queued = 0;

    *notice = PM_NOTICE_NONE;
    if (!notify) {
        if (pm_db_select(c->db, of_rep ? PM_SQL_ADDRESS_NOTICE_REP_DUE
                                       : PM_SQL_ADDRESS_NOTICE_CLIENT_DUE,
                         &rows, id, new_email) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (pm_row_int(pm_first_row(rows), NOTICE_DUE, 0) > 0) {
            *notice = PM_NOTICE_WITHHELD;
        }
        return APR_SUCCESS;
    }
    if (pm_db_exec(c->db, of_rep ? PM_SQL_ADDRESS_NOTICE_REP : PM_SQL_ADDRESS_NOTICE_CLIENT,
                   &queued, pm_outbox_message_id(c->pool, c->q->r->server), now, now, id,
                   new_email) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (queued > 0) {
        *notice = PM_NOTICE_QUEUED;
        c->queued_mail = 1;
    }
    return APR_SUCCESS;
}

void pm_op_note_address_notice(json_t *detail, pm_notice notice)
{
    if (notice == PM_NOTICE_QUEUED) {
        pm_json_set_bool(detail, "old_address_notified", 1);
    }
    else if (notice == PM_NOTICE_WITHHELD) {
        pm_json_set_bool(detail, "old_address_notice_withheld", 1);
    }
}

/* Earlier tokens of the client's or representative's invitations stop working,
 * and the client's date-of-birth budget starts again. */
static apr_status_t retire_earlier(pm_op_ctx *c, long long client_id, long long id)
{
    const char *n = pm_arg_int(c->pool, c->now);

    if (pm_db_exec(c->db, PM_SQL_TOKENS_RETIRE_EARLIER, NULL, n, pm_arg_int(c->pool, id))
        != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_TOKENS_CLEAR_EARLIER, NULL, pm_arg_int(c->pool, id))
           != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_VERIFY_RESET_CLIENT, NULL, pm_arg_int(c->pool, client_id))
           != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* No new email goes to an address whose email to this recipient bounced hard
 * (migration 018, portal-manager-admin bounce) until staff change the address. */
static pm_op_outcome refuse_bounced(pm_op_ctx *c, long long client_id, long long rep_id,
                                    const char *email)
{
    apr_array_header_t *rows;

    if (pm_db_select(c->db, PM_SQL_ADDRESS_BOUNCED, &rows, pm_arg_int(c->pool, client_id),
                     pm_arg_int(c->pool, rep_id), email) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return pm_row_int(pm_first_row(rows), COUNT_N, 0) > 0 ? PM_OP_EMAIL_BOUNCED : PM_OP_OK;
}

/* An invitation, or with account_id a password reset link of that account, valid
 * for ttl seconds. */
static pm_op_outcome create_link(pm_op_ctx *c, long long client_id, long long rep_id,
                                 const char *email, long long account_id, long long ttl,
                                 long long *id)
{
    apr_pool_t *p = c->pool;
    const char *n = pm_arg_int(p, c->now);
    apr_array_header_t *rows;
    apr_status_t rv;
    pm_op_outcome o;

    if (pm_op_settings(c) != PM_OP_OK
        || pm_db_select(c->db, PM_SQL_CLIENT_ACTIVE_FLAG, &rows, pm_arg_int(p, client_id))
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (pm_row_int(pm_first_row(rows), CLIENT_FLAG_ACTIVE, 0) != 1) {
        return PM_OP_DISCHARGED;         /* nobody is invited for a discharged client */
    }
    if ((o = refuse_bounced(c, client_id, rep_id, email)) != PM_OP_OK) {
        return o;
    }
    rv = rep_id ? pm_db_exec(c->db, PM_SQL_INVITATION_SUPERSEDE_STALE_REP, NULL, n,
                             pm_arg_int(p, rep_id), n)
                : pm_db_exec(c->db, PM_SQL_INVITATION_SUPERSEDE_STALE_CLIENT, NULL, n,
                             pm_arg_int(p, client_id), n);
    if (rv == APR_SUCCESS) {
        rv = account_id
             ? pm_db_select(c->db, PM_SQL_RESET_INSERT, &rows, pm_arg_int(p, client_id),
                            rep_id ? pm_arg_int(p, rep_id) : NULL, email, c->staff->username, n,
                            pm_arg_int(p, c->now + ttl), pm_arg_int(p, account_id))
             : pm_db_select(c->db, PM_SQL_INVITATION_INSERT, &rows, pm_arg_int(p, client_id),
                            rep_id ? pm_arg_int(p, rep_id) : NULL, email, c->staff->username, n,
                            pm_arg_int(p, c->now + ttl));
    }
    if (rv != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    *id = pm_row_int(pm_first_row(rows), INSERTED_ID, 0);
    if (*id == 0) {
        return PM_OP_OK;
    }
    if (retire_earlier(c, client_id, *id) != APR_SUCCESS || queue_email(c, *id) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_create_invitation(pm_op_ctx *c, long long client_id, long long rep_id,
                                      const char *email, long long *id)
{
    if (pm_op_settings(c) != PM_OP_OK) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return create_link(c, client_id, rep_id, email, 0, c->st.invitation_ttl_hours * 3600, id);
}

pm_op_outcome pm_op_create_reset(pm_op_ctx *c, long long client_id, long long rep_id,
                                 const char *email, long long account_id, long long *id)
{
    if (pm_op_settings(c) != PM_OP_OK) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return create_link(c, client_id, rep_id, email, account_id, pm_op_reset_ttl(c), id);
}

long long pm_op_reset_ttl(const pm_op_ctx *c)
{
    long long hours = c->st.invitation_ttl_hours < PM_RESET_TTL_HOURS
                      ? c->st.invitation_ttl_hours : PM_RESET_TTL_HOURS;

    return hours * 3600;
}

/* ---- invite a client ---------------------------------------------------------- */

static pm_op_outcome refuse_client_invitation(const pm_row *client)
{
    if (pm_row_int(client, CLIENT_ACCOUNTS, 0) > 0) {
        return PM_OP_ALREADY_ACTIVE;
    }
    if (pm_row_str(client, CLIENT_EMAIL) == NULL || *pm_row_str(client, CLIENT_EMAIL) == '\0') {
        return PM_OP_NO_EMAIL;
    }
    if (pm_row_str(client, CLIENT_DECLINED_AT) != NULL) {
        return PM_OP_DECLINED;
    }
    return PM_OP_OK;
}

/* Invite selected sends no reinvite that needs a person first: after a lock (check the
 * date of birth with the client: someone else may have tried the link) or the
 * recipient's own decline (did they ask for a new one?). Their own page still does it. */
static pm_op_outcome refuse_bulk_reinvite(const pm_op_ctx *c, const pm_row *client)
{
    const char *status = pm_row_str(client, CLIENT_INV_STATUS);

    return c->bulk && status && (strcmp(status, "locked") == 0 || strcmp(status, "declined") == 0)
           ? PM_OP_NEEDS_A_LOOK : PM_OP_OK;
}

pm_op_outcome pm_op_invite_client(pm_op_ctx *c, long long client_id, long long *id)
{
    const pm_row *client;
    json_t *detail;
    pm_op_outcome o;

    *id = 0;
    if ((o = pm_op_load_visible(c, PM_SQL_CLIENT_GET_VISIBLE, client_id, "invitation.create",
                                &client)) != PM_OP_OK
        || (o = pm_op_settings(c)) != PM_OP_OK
        || (o = pm_op_begin_client_txn(c, client_id)) != PM_OP_OK
        || (o = pm_op_load_visible(c, PM_SQL_CLIENT_GET_VISIBLE, client_id, NULL, &client))
           != PM_OP_OK
        || (o = refuse_client_invitation(client)) != PM_OP_OK
        || (o = refuse_bulk_reinvite(c, client)) != PM_OP_OK
        || (o = pm_op_create_invitation(c, client_id, 0, pm_row_str(client, CLIENT_EMAIL), id))
           != PM_OP_OK) {
        return o;
    }
    if (*id == 0) {                      /* the unique index kept the earlier one */
        return PM_OP_PENDING;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "reinvite", pm_row_str(client, CLIENT_INV_STATUS) != NULL);
    return pm_op_finish(c, "invitation.create", client_id, *id, detail);
}

/* ---- resend ------------------------------------------------------------------- */

/* A resend goes only to a pending invitation, at the recipient's current address,
 * never while the client has declined or the recipient has an active account;
 * a locked invitation is never re-armed (staff invite again instead). Read inside
 * the resend's transaction. */
static pm_op_outcome refuse_resend_state(pm_op_ctx *c, const char *iid)
{
    apr_array_header_t *rows;
    const pm_row *state;
    const char *status;

    if (pm_db_select(c->db, PM_SQL_INVITATION_RESEND_STATE, &rows, iid) != APR_SUCCESS
        || rows->nelts != 1) {
        return PM_OP_DB_UNAVAILABLE;
    }
    state = &APR_ARRAY_IDX(rows, 0, pm_row);
    status = pm_row_str(state, RESEND_STATUS);
    if (strcmp(status, "locked") == 0) {
        return PM_OP_LOCKED;
    }
    if (strcmp(status, "pending") != 0) {
        return PM_OP_NOT_PENDING;
    }
    if (pm_row_int(state, RESEND_CURRENT_ADDRESS, 0) != 1) {
        return PM_OP_ADDRESS_CHANGED;
    }
    if (pm_row_int(state, RESEND_BOUNCED, 0) > 0) {
        return PM_OP_EMAIL_BOUNCED;          /* the current address: it bounced */
    }
    if (pm_row_int(state, RESEND_CLIENT_DECLINED, 0) != 0) {
        return PM_OP_DECLINED;
    }
    return pm_row_int(state, RESEND_ACCOUNTS, 0) > 0 ? PM_OP_ALREADY_ACTIVE : PM_OP_OK;
}

pm_op_outcome pm_op_resend_allowed(pm_op_ctx *c, const pm_row *inv, long long *wait)
{
    *wait = pm_row_int(inv, VISIBLE_INV_LAST_QUEUED_AT, 0)
            + c->st.resend_cooldown_minutes * 60 - c->now;
    if (pm_row_int(inv, VISIBLE_INV_QUEUED_COUNT, 0) >= c->st.max_sends_per_invitation) {
        return PM_OP_SEND_LIMIT;
    }
    return *wait > 0 ? PM_OP_TOO_SOON : PM_OP_OK;
}

pm_op_outcome pm_op_rearm(pm_op_ctx *c, pm_sql_id stmt, long long invitation_id,
                          long long ttl)
{
    const char *iid = pm_arg_int(c->pool, invitation_id);
    int changed = 0;

    if (pm_db_exec(c->db, PM_SQL_INVITATION_LOCK_ROW, NULL, iid) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_TOKEN_RETIRE, NULL, pm_arg_int(c->pool, c->now), iid)
           != APR_SUCCESS
        || pm_db_exec(c->db, stmt, &changed, pm_arg_int(c->pool, c->now + ttl), iid)
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        return PM_OP_CHANGED_MEANWHILE;
    }
    if (pm_db_exec(c->db, PM_SQL_OUTBOX_CANCEL_QUEUED, NULL, iid) != APR_SUCCESS
        || queue_email(c, invitation_id) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_resend(pm_op_ctx *c, long long invitation_id, long long *wait)
{
    const pm_row *inv;
    pm_op_outcome o;

    *wait = 0;
    if ((o = pm_op_load_visible(c, PM_SQL_INVITATION_GET_VISIBLE, invitation_id,
                                "invitation.resend", &inv)) != PM_OP_OK
        || (o = pm_op_settings(c)) != PM_OP_OK
        || (o = pm_op_begin_client_txn(c, pm_row_int(inv, VISIBLE_INV_CLIENT_ID, 0)))
           != PM_OP_OK
        || (o = refuse_resend_state(c, pm_arg_int(c->pool, invitation_id))) != PM_OP_OK
        || (o = pm_op_load_visible(c, PM_SQL_INVITATION_GET_VISIBLE, invitation_id, NULL, &inv))
           != PM_OP_OK
        || (o = pm_op_resend_allowed(c, inv, wait)) != PM_OP_OK
        || (o = pm_op_rearm(c, PM_SQL_INVITATION_RESEND, invitation_id,
                            c->st.invitation_ttl_hours * 3600)) != PM_OP_OK) {
        return o;
    }
    return pm_op_finish(c, "invitation.resend", pm_row_int(inv, VISIBLE_INV_CLIENT_ID, 0),
                        invitation_id, NULL);
}

/* ---- revoke ------------------------------------------------------------------- */

pm_op_outcome pm_op_revoke(pm_op_ctx *c, long long invitation_id)
{
    const pm_row *inv;
    pm_op_outcome o;
    int changed = 0;

    if ((o = pm_op_load_visible(c, PM_SQL_INVITATION_GET_VISIBLE, invitation_id,
                                "invitation.revoke", &inv)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_begin(c->db) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_INVITATION_REVOKE, &changed, pm_arg_int(c->pool, c->now),
                      pm_arg_int(c->pool, invitation_id)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        return PM_OP_NOT_PENDING;
    }
    return pm_op_finish(c, "invitation.revoke", pm_row_int(inv, VISIBLE_INV_CLIENT_ID, 0),
                        invitation_id, NULL);
}
