/* pm_op_account.c — staff turning a client's portal accounts off and on again.
 * Each change runs under the client's row lock, changes the account only from the
 * state it expects (one conditional UPDATE) and writes its audit row in the same
 * transaction; the client portal's login query admits active accounts only. */
#include "pm_op.h"

/* Loads the account (NO_ACCOUNT + a denied audit row when its client is not
 * visible), opens its client's transaction and reads the account again there. */
static pm_op_outcome begin_account_change(pm_op_ctx *c, long long account_id,
                                          const char *action, long long *client_id,
                                          const pm_row **row)
{
    pm_op_outcome o = pm_op_load_visible(c, PM_SQL_ACCOUNT_GET_VISIBLE, account_id, action, row);

    if (o != PM_OP_OK) {
        return o;
    }
    *client_id = pm_row_int(*row, ACCOUNT_CLIENT_ID, 0);
    if ((o = pm_op_begin_client_txn(c, *client_id)) != PM_OP_OK) {
        return o;
    }
    o = pm_op_load_visible(c, PM_SQL_ACCOUNT_GET_VISIBLE, account_id, NULL, row);
    if (o != PM_OP_OK) {
        pm_db_rollback(c->db);
    }
    return o;
}

/* Why an account may not be active again, read inside the transaction. */
static pm_op_outcome enable_refusal(const pm_row *row)
{
    if (strcmp(pm_row_str(row, ACCOUNT_STATUS), "active") == 0) {
        return PM_OP_ALREADY_ENABLED;
    }
    if (pm_row_int(row, ACCOUNT_REP_REMOVED, 0) == 1) {
        return PM_OP_REP_REMOVED;
    }
    if (pm_row_int(row, ACCOUNT_CLIENT_ACTIVE, 1) == 0) {
        return PM_OP_DISCHARGED;
    }
    if (pm_row_int(row, ACCOUNT_CLIENT_DECLINED, 0) == 1) {
        return PM_OP_DECLINED;
    }
    if (pm_row_int(row, ACCOUNT_OTHER_ACTIVE, 0) > 0) {
        return PM_OP_ALREADY_ACTIVE;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_account_disable(pm_op_ctx *c, long long account_id, const char *reason,
                                    long long *client_id)
{
    const pm_row *row;
    pm_op_outcome o;
    int changed = 0;
    json_t *detail;

    if ((o = begin_account_change(c, account_id, "account.disable", client_id, &row))
        != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_ACCOUNT_DISABLE, &changed, pm_arg_int(c->pool, c->now),
                   c->staff->username, reason, pm_arg_int(c->pool, account_id)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        pm_db_rollback(c->db);
        return PM_OP_ALREADY_DISABLED;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "has_reason", reason != NULL);
    pm_json_set_str(detail, "kind", pm_row_str(row, ACCOUNT_REP_ID) ? "representative" : "client");
    return pm_op_finish(c, "account.disable", *client_id, account_id, detail);
}

pm_op_outcome pm_op_account_enable(pm_op_ctx *c, long long account_id, long long *client_id)
{
    const pm_row *row;
    pm_op_outcome o;
    int changed = 0;
    json_t *detail;

    if ((o = begin_account_change(c, account_id, "account.enable", client_id, &row))
        != PM_OP_OK) {
        return o;
    }
    if ((o = enable_refusal(row)) != PM_OP_OK) {
        pm_db_rollback(c->db);
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_ACCOUNT_ENABLE, &changed, pm_arg_int(c->pool, account_id))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        pm_db_rollback(c->db);
        return PM_OP_ALREADY_ENABLED;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_str(detail, "kind", pm_row_str(row, ACCOUNT_REP_ID) ? "representative" : "client");
    return pm_op_finish(c, "account.enable", *client_id, account_id, detail);
}
