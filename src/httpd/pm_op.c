/* pm_op.c — what every operation shares: its context (database handle, pool,
 * staff member, clock, settings), loading a client-scoped row this staff member
 * may see, and the client's transaction with its row lock. */
#include "pm_op.h"
#include "pm_outbox_wake.h"
#include "pm_audit.h"
#include "pm_metrics.h"

void pm_op_ctx_init(pm_op_ctx *c, pm_req *q)
{
    memset(c, 0, sizeof(*c));
    c->q = q;
    c->db = q->db;
    c->pool = q->r->pool;
    c->staff = q->staff;
    c->now = pm_now_sec(q->r);
}

pm_op_outcome pm_op_settings(pm_op_ctx *c)
{
    if (!c->have_settings) {
        if (pm_settings_load(c->db, c->pool, &c->st) != APR_SUCCESS) {
            return PM_OP_DB_UNAVAILABLE;
        }
        c->have_settings = 1;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_load_visible(pm_op_ctx *c, pm_sql_id stmt, long long id,
                                 const char *action, const pm_row **out)
{
    apr_array_header_t *rows;
    pm_op_outcome o = pm_op_load_visible_rows(c, stmt, id, action, &rows);

    if (o == PM_OP_OK) {
        *out = &APR_ARRAY_IDX(rows, 0, pm_row);
    }
    return o;
}

pm_op_outcome pm_op_load_visible_rows(pm_op_ctx *c, pm_sql_id stmt, long long id,
                                      const char *action, apr_array_header_t **out)
{
    apr_array_header_t *rows;
    int is_client = stmt == PM_SQL_CLIENT_GET_VISIBLE;

    if (pm_db_select(c->db, stmt, &rows, pm_arg_int(c->pool, id), c->staff->username,
                     c->staff->username) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (rows->nelts == 0) {
        if (action != NULL
            && pm_audit(c->q, action, is_client ? id : 0, is_client ? 0 : id, PM_AUDIT_DENIED,
                        NULL) != APR_SUCCESS) {
            return PM_OP_DB_UNAVAILABLE;
        }
        return is_client ? PM_OP_NO_CLIENT
               : stmt == PM_SQL_INVITATION_GET_VISIBLE ? PM_OP_NO_INVITATION
               : stmt == PM_SQL_ACCOUNT_GET_VISIBLE ? PM_OP_NO_ACCOUNT
               : PM_OP_NO_REPRESENTATIVE;
    }
    *out = rows;
    return PM_OP_OK;
}

/* Takes the client's row lock first, so that the checks after it read what the
 * write will see (an email change or "client declined" waits, or is already
 * visible). */
pm_op_outcome pm_op_begin_client_txn(pm_op_ctx *c, long long client_id)
{
    if (pm_db_begin(c->db) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_CLIENT_LOCK_ROW, NULL, pm_arg_int(c->pool, client_id))
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_finish(pm_op_ctx *c, const char *action, long long client_id,
                           long long object_id, json_t *detail)
{
    if (pm_audit(c->q, action, client_id, object_id, PM_AUDIT_OK, detail) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (pm_db_commit(c->db) != APR_SUCCESS) {
        pm_metrics_write_outcome(c->q->r, 0);
        return PM_OP_DB_UNAVAILABLE;
    }
    pm_metrics_write_outcome(c->q->r, 1);
    if (c->queued_mail) {
        c->queued_mail = 0;
        pm_outbox_wake();
    }
    return PM_OP_OK;
}
