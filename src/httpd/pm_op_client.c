/* pm_op_client.c — the changes to one client that touch its invitations: the
 * email "change" button (superseding what went to the old address), "client
 * declined" and its undo, and the statement preference. Each runs under the
 * client's row lock and writes its audit row in the same transaction. */
#include "pm_op.h"

/* Loads the client (NO_CLIENT + a denied audit row when invisible) and opens
 * its transaction. */
static pm_op_outcome begin_change(pm_op_ctx *c, long long client_id, const char *action)
{
    const pm_row *row;
    pm_op_outcome o = pm_op_load_visible(c, PM_SQL_CLIENT_GET_VISIBLE, client_id, action, &row);

    return o != PM_OP_OK ? o : pm_op_begin_client_txn(c, client_id);
}

pm_op_outcome pm_op_client_set_email(pm_op_ctx *c, long long client_id, const char *email,
                                     int notify_old_address)
{
    const char *now = pm_arg_int(c->pool, c->now), *id = pm_arg_int(c->pool, client_id);
    pm_op_outcome o;
    int superseded = 0, cleared = 0;
    pm_notice notice;
    json_t *detail;

    if ((o = begin_change(c, client_id, "client.email_change")) != PM_OP_OK) {
        return o;
    }
    /* the address saved is the one staff checked: its bounces no longer refuse; the
     * old address hears of the change when the client has a portal account, unless
     * staff withhold it (issue 14) */
    if (pm_db_exec(c->db, PM_SQL_CLIENT_SUPERSEDE_PENDING, &superseded, now, id, email)
        != APR_SUCCESS
        || pm_op_queue_address_notice(c, 0, client_id, email, notify_old_address, &notice)
           != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_CLIENT_SET_EMAIL, NULL, email, now, id) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_BOUNCES_CLEAR_CLIENT, &cleared, now, id, email)
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_int(detail, "superseded_invitations", superseded);
    if (cleared > 0) {
        pm_json_set_int(detail, "cleared_bounces", cleared);
    }
    pm_op_note_address_notice(detail, notice);
    return pm_op_finish(c, "client.email_change", client_id, 0, detail);
}

/* A client with an active portal account of its own cannot simply be marked
 * "declined": staff must say that the account goes too (disable_account), and
 * then it is disabled in the same transaction. Read after the row lock. */
static pm_op_outcome settle_active_accounts(pm_op_ctx *c, const char *id, int disable,
                                            int *disabled)
{
    apr_array_header_t *rows;

    *disabled = 0;
    if (pm_db_select(c->db, PM_SQL_CLIENT_ACTIVE_ACCOUNTS, &rows, id) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (pm_row_int(pm_first_row(rows), ACTIVE_ACCOUNTS, 0) == 0) {
        return PM_OP_OK;
    }
    if (!disable) {
        pm_db_rollback(c->db);
        return PM_OP_ACCOUNT_ACTIVE;
    }
    if (pm_db_exec(c->db, PM_SQL_ACCOUNT_DISABLE_CLIENT_OWN, disabled,
                   pm_arg_int(c->pool, c->now), c->staff->username, id) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_client_set_declined(pm_op_ctx *c, long long client_id, const char *note,
                                        int disable_account)
{
    const char *now = pm_arg_int(c->pool, c->now), *id = pm_arg_int(c->pool, client_id);
    pm_op_outcome o;
    int revoked = 0, disabled = 0;
    json_t *detail;

    if ((o = begin_change(c, client_id, "client.declined")) != PM_OP_OK
        || (o = settle_active_accounts(c, id, disable_account, &disabled)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_CLIENT_REVOKE_PENDING, &revoked, now, id) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_CLIENT_SET_DECLINED, NULL, now, c->staff->username, note,
                      now, id) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "has_note", note != NULL);
    pm_json_set_int(detail, "revoked_invitations", revoked);
    pm_json_set_int(detail, "disabled_accounts", disabled);
    return pm_op_finish(c, "client.declined", client_id, 0, detail);
}

pm_op_outcome pm_op_client_clear_declined(pm_op_ctx *c, long long client_id)
{
    pm_op_outcome o;

    if ((o = begin_change(c, client_id, "client.declined_cleared")) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_CLIENT_CLEAR_DECLINED, NULL, pm_arg_int(c->pool, c->now),
                   pm_arg_int(c->pool, client_id)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return pm_op_finish(c, "client.declined_cleared", client_id, 0, NULL);
}

pm_op_outcome pm_op_client_set_preferences(pm_op_ctx *c, long long client_id,
                                           int statement_notifications)
{
    pm_op_outcome o;
    json_t *detail;

    if ((o = begin_change(c, client_id, "client.preferences")) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_CLIENT_SET_PREFERENCES, NULL, statement_notifications ? "1" : "0",
                   pm_arg_int(c->pool, c->now), pm_arg_int(c->pool, client_id)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "statement_notifications", statement_notifications);
    return pm_op_finish(c, "client.preferences", client_id, 0, detail);
}
