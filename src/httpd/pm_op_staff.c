/* pm_op_staff.c — a staff member's own preferences: how they hear about their
 * clients (staff.notify: none, immediate, or a daily digest), changed in one
 * transaction with its audit row "staff.preferences" {before, after}. Nobody
 * changes anyone else's: the row is always the caller's (c->staff). */
#include "pm_op.h"

/* Locks the caller's row and reads what it holds now: *before is its notify.
 * NOT_STAFF (rolled back) when the member was disabled meanwhile. */
static pm_op_outcome lock_own_row(pm_op_ctx *c, const char **before)
{
    apr_array_header_t *rows;
    int locked = 0;

    if (pm_db_begin(c->db) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_STAFF_LOCK_ROW, &locked, c->staff->username) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (locked == 0) {
        pm_db_rollback(c->db);
        return PM_OP_NOT_STAFF;
    }
    if (pm_db_select(c->db, PM_SQL_STAFF_GET, &rows, c->staff->username) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    *before = pm_row_str(pm_first_row(rows), STAFF_NOTIFY);
    return PM_OP_OK;
}

pm_op_outcome pm_op_staff_set_notify(pm_op_ctx *c, const char *notify)
{
    const char *before = NULL;
    pm_op_outcome o;
    json_t *detail;

    if ((o = lock_own_row(c, &before)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_STAFF_SET_NOTIFY, NULL, notify, c->staff->username)
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_str(detail, "before", before);
    pm_json_set_str(detail, "after", notify);
    return pm_op_finish(c, "staff.preferences", 0, 0, detail);
}
