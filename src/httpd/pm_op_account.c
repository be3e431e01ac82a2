/* pm_op_account.c — staff turning a client's portal accounts off and on again, and
 * emailing an account's person a password reset link. Each change runs under the
 * client's row lock, changes the account only from the state it expects (one
 * conditional UPDATE) and writes its audit row in the same transaction; the client
 * portal's login query admits active accounts only. */
#include "pm_op.h"
#include "pm_audit.h"
#include "pm_status.h"

/* Which of an account's rows to act from: any visible one, or one whose grant still
 * reaches its client (a reset or turning it on again). */
enum { ANY_GRANT, REACHING_GRANT };

/* Active and its last day not past: a representative's access that ended by its
 * dates reaches nothing, though nobody ended its grant (as the portal_grants view
 * and an invitation read it). */
static int grant_reaches(const pm_op_ctx *c, const pm_row *row)
{
    return pm_grant_reaches(pm_row_str(row, ACCOUNT_GRANT_STATUS),
                            pm_row_str(row, ACCOUNT_GRANT_ENDS_AT), c->now);
}

/* The account as seen from one client (want; 0: the first visible row, its own
 * client's when visible) and *visible (unless NULL), every row the caller may see.
 * NO_ACCOUNT + a denied audit row (unless action is NULL) when that client is not
 * one it reaches that this staff member may see; ACCESS_ENDED (with *row an ended
 * grant's) when `which` asks for a grant that reaches and the login no longer
 * reaches any client the caller sees. */
static pm_op_outcome load_account(pm_op_ctx *c, long long account_id, long long want,
                                  int which, const char *action, const pm_row **row,
                                  apr_array_header_t **visible)
{
    apr_array_header_t *rows;
    const pm_row *ended = NULL;
    pm_op_outcome o;
    int i;

    if ((o = pm_op_load_visible_rows(c, PM_SQL_ACCOUNT_GET_VISIBLE, account_id, action, &rows))
        != PM_OP_OK) {
        return o;
    }
    if (visible != NULL) {
        *visible = rows;
    }
    for (i = 0; i < rows->nelts; i++) {
        *row = &APR_ARRAY_IDX(rows, i, pm_row);
        if (want != 0 && pm_row_int(*row, ACCOUNT_CLIENT_ID, 0) != want) {
            continue;
        }
        if (which == ANY_GRANT || grant_reaches(c, *row)) {
            return PM_OP_OK;
        }
        ended = ended ? ended : *row;
    }
    if (ended != NULL) {          /* *row: the ended grant, to say why */
        *row = ended;
        return PM_OP_ACCESS_ENDED;
    }
    if (action != NULL && pm_audit(c->q, action, 0, account_id, PM_AUDIT_DENIED, NULL)
                          != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return PM_OP_NO_ACCOUNT;
}

/* Loads the account (NO_ACCOUNT + a denied audit row when its client is not
 * visible), opens its client's transaction and reads the account again there.
 * *client_id: in, the client asked for (0: any visible); out, the one loaded. */
static pm_op_outcome begin_account_change(pm_op_ctx *c, long long account_id, int which,
                                          const char *action, long long *client_id,
                                          const pm_row **row, apr_array_header_t **visible)
{
    pm_op_outcome o = load_account(c, account_id, *client_id, which, action, row, visible);

    if (o != PM_OP_OK) {
        return o;
    }
    *client_id = pm_row_int(*row, ACCOUNT_CLIENT_ID, 0);
    /* the account's row too, before it is read again: a recipient linking this login
     * to another client (pm_op_accept_linked) then lands wholly before the read, so a
     * disable sees the other client, or wholly after, and finds the login off */
    if ((o = pm_op_begin_client_txn(c, *client_id)) != PM_OP_OK
        || pm_db_exec(c->db, PM_SQL_ACCOUNT_LOCK_ROW, NULL, pm_arg_int(c->pool, account_id))
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    o = load_account(c, account_id, *client_id, which, NULL, row, visible);
    if (o != PM_OP_OK) {
        pm_db_rollback(c->db);
    }
    return o;
}

/* Every client the login reaches now and the address each one's records give its
 * person (rows of PM_SQL_ACCOUNT_ACTIVE_GRANTS). */
enum { REACHED_CLIENT_ID, REACHED_ADDRESS };

static pm_op_outcome reached_clients(pm_op_ctx *c, long long account_id,
                                     apr_array_header_t **rows)
{
    return pm_db_select(c->db, PM_SQL_ACCOUNT_ACTIVE_GRANTS, rows,
                        pm_arg_int(c->pool, account_id)) == APR_SUCCESS
           ? PM_OP_OK : PM_OP_DB_UNAVAILABLE;
}

static int sees_client(const apr_array_header_t *visible, long long client_id)
{
    int i;

    for (i = 0; i < visible->nelts; i++) {
        if (pm_row_int(&APR_ARRAY_IDX(visible, i, pm_row), ACCOUNT_CLIENT_ID, 0) == client_id) {
            return 1;
        }
    }
    return 0;
}

/* A login that also reaches other clients, turned off from this client's card: this
 * client's grant ends (end_reason staff, the reason on the grant); the login keeps
 * signing in for the others. */
static pm_op_outcome end_access_here(pm_op_ctx *c, const pm_row *row, const char *reason,
                                     long long client_id)
{
    long long account_id = pm_row_int(row, ACCOUNT_ID, 0);
    json_t *detail;
    int changed = 0;

    if (pm_db_exec(c->db, PM_SQL_GRANT_END_STAFF, &changed, pm_arg_int(c->pool, c->now),
                   c->staff->username, reason, pm_row_str(row, ACCOUNT_GRANT_ID)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        pm_db_rollback(c->db);
        return PM_OP_ACCESS_ENDED;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "has_reason", reason != NULL);
    pm_json_set_str(detail, "kind", pm_row_str(row, ACCOUNT_REP_ID) ? "representative" : "client");
    pm_json_set_str(detail, "scope", "this_client");
    pm_json_set_int(detail, "other_clients", pm_row_int(row, ACCOUNT_OTHER_CLIENTS, 0));
    return pm_op_finish(c, "account.disable", client_id, account_id, detail);
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

    if ((o = begin_account_change(c, account_id, ANY_GRANT, "account.disable", client_id, &row,
                                  NULL)) != PM_OP_OK) {
        return o;
    }
    if (pm_row_int(row, ACCOUNT_OTHER_CLIENTS, 0) > 0
        && strcmp(pm_row_str(row, ACCOUNT_STATUS), "active") == 0) {
        return end_access_here(c, row, reason, *client_id);
    }
    if (pm_db_exec(c->db, PM_SQL_ACCOUNT_DISABLE, &changed, pm_arg_int(c->pool, c->now),
                   c->staff->username, reason, pm_arg_int(c->pool, *client_id),
                   pm_arg_int(c->pool, account_id)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {
        pm_db_rollback(c->db);
        return PM_OP_ALREADY_DISABLED;
    }
    if (pm_db_exec(c->db, PM_SQL_RESET_REVOKE_OF_ACCOUNT, NULL, pm_arg_int(c->pool, c->now),
                   pm_arg_int(c->pool, account_id)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "has_reason", reason != NULL);
    pm_json_set_str(detail, "kind", pm_row_str(row, ACCOUNT_REP_ID) ? "representative" : "client");
    return pm_op_finish(c, "account.disable", *client_id, account_id, detail);
}

/* One person, one active account: while an invitation to a person this login is
 * stays open, the login stays off (accepting that invitation makes their account;
 * staff revoke it first to turn this one on). */
static pm_op_outcome refuse_open_invitation(pm_op_ctx *c, long long account_id)
{
    apr_array_header_t *rows;

    if (pm_db_select(c->db, PM_SQL_ACCOUNT_OPEN_INVITATION, &rows,
                     pm_arg_int(c->pool, account_id), pm_arg_int(c->pool, c->now))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return pm_row_int(pm_first_row(rows), COUNT_N, 0) > 0 ? PM_OP_PENDING : PM_OP_OK;
}

/* A login turned on again signs in for every client it reaches: the caller must see
 * each of them (a champion sees all). */
static pm_op_outcome enable_reach(pm_op_ctx *c, long long account_id,
                                  const apr_array_header_t *visible)
{
    apr_array_header_t *reached;
    pm_op_outcome o;
    int i;

    if ((o = reached_clients(c, account_id, &reached)) != PM_OP_OK) {
        return o;
    }
    for (i = 0; i < reached->nelts; i++) {
        const pm_row *grant = &APR_ARRAY_IDX(reached, i, pm_row);

        if (!sees_client(visible, pm_row_int(grant, REACHED_CLIENT_ID, 0))) {
            return PM_OP_UNSEEN_CLIENTS;
        }
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_account_enable(pm_op_ctx *c, long long account_id, long long *client_id)
{
    apr_array_header_t *visible;
    const pm_row *row;
    pm_op_outcome o;
    int changed = 0;
    json_t *detail;

    *client_id = 0;
    o = begin_account_change(c, account_id, REACHING_GRANT, "account.enable", client_id, &row,
                             &visible);
    if (o == PM_OP_ACCESS_ENDED) {
        /* why the access ended, when that is what stands in the way */
        pm_op_outcome why = enable_refusal(row);

        return why == PM_OP_REP_REMOVED || why == PM_OP_DISCHARGED || why == PM_OP_DECLINED
               ? why : o;
    }
    if (o != PM_OP_OK) {
        return o;
    }
    if ((o = enable_refusal(row)) != PM_OP_OK
        || (o = refuse_open_invitation(c, account_id)) != PM_OP_OK
        || (o = enable_reach(c, account_id, visible)) != PM_OP_OK) {
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

/* ---- password reset ------------------------------------------------------------------------ */

/* Why no reset link goes out, read inside the transaction. */
static pm_op_outcome reset_refusal(const pm_row *row)
{
    const char *email = pm_row_str(row, ACCOUNT_EMAIL);

    if (strcmp(pm_row_str(row, ACCOUNT_STATUS), "active") != 0) {
        return PM_OP_ACCOUNT_DISABLED;
    }
    return email == NULL || *email == '\0' ? PM_OP_NO_EMAIL : PM_OP_OK;
}

/* The open reset link again (cooldown and send limit as an invitation's resend), or
 * a new one; *resent says which. */
static pm_op_outcome send_reset(pm_op_ctx *c, const pm_row *row, long long *wait, int *resent)
{
    long long account_id = pm_row_int(row, ACCOUNT_ID, 0), id = 0;
    apr_array_header_t *rows;
    pm_op_outcome o;

    if (pm_db_select(c->db, PM_SQL_RESET_PENDING, &rows, pm_arg_int(c->pool, account_id),
                     pm_arg_int(c->pool, c->now)) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    *resent = rows->nelts > 0;
    if (*resent) {
        const pm_row *open = pm_first_row(rows);

        if ((o = pm_op_resend_allowed(c, open, wait)) != PM_OP_OK) {
            return o;
        }
        return pm_op_rearm(c, PM_SQL_RESET_REARM, pm_row_int(open, VISIBLE_INV_ID, 0),
                           pm_op_reset_ttl(c));
    }
    o = pm_op_create_reset(c, pm_row_int(row, ACCOUNT_CLIENT_ID, 0),
                           pm_row_int(row, ACCOUNT_REP_ID, 0), pm_row_str(row, ACCOUNT_EMAIL),
                           account_id, &id);
    return o == PM_OP_OK && id == 0 ? PM_OP_PENDING : o;
}

/* A login that reaches several clients belongs to one person, whose address each
 * client's records keep: a reset link goes out only when they all agree, so that no
 * one who may change the address on one client's records takes over a login that
 * reaches another. *reached: the clients it reaches. */
static pm_op_outcome reset_address_agreed(pm_op_ctx *c, const pm_row *row,
                                          apr_array_header_t **reached)
{
    const char *email = pm_row_str(row, ACCOUNT_EMAIL);
    pm_op_outcome o;
    int i;

    if ((o = reached_clients(c, pm_row_int(row, ACCOUNT_ID, 0), reached)) != PM_OP_OK) {
        return o;
    }
    for (i = 0; i < (*reached)->nelts; i++) {
        const char *other = pm_row_str(&APR_ARRAY_IDX(*reached, i, pm_row), REACHED_ADDRESS);

        if (other == NULL || strcasecmp(other, email) != 0) {
            return PM_OP_ADDRESSES_DIFFER;
        }
    }
    return PM_OP_OK;
}

/* The reset in the history of every other client the login reaches, so each one's
 * clinician sees that its login was sent a reset link (from which card: not said). */
static pm_op_outcome audit_reset_elsewhere(pm_op_ctx *c, long long account_id,
                                           long long client_id,
                                           const apr_array_header_t *reached)
{
    json_t *detail = pm_json_object(c->pool);
    int i;

    pm_json_set_bool(detail, "from_another_client", 1);
    for (i = 0; i < reached->nelts; i++) {
        long long other = pm_row_int(&APR_ARRAY_IDX(reached, i, pm_row), REACHED_CLIENT_ID, 0);

        if (other != client_id
            && pm_audit(c->q, "account.password_reset", other, account_id, PM_AUDIT_OK, detail)
               != APR_SUCCESS) {
            return PM_OP_DB_UNAVAILABLE;
        }
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_account_reset(pm_op_ctx *c, long long account_id, long long *client_id,
                                  long long *wait)
{
    apr_array_header_t *visible, *reached;
    const pm_row *row;
    pm_op_outcome o;
    json_t *detail;
    int resent = 0;

    *wait = 0;
    *client_id = 0;
    if ((o = pm_op_settings(c)) != PM_OP_OK
        || (o = begin_account_change(c, account_id, REACHING_GRANT, "account.password_reset",
                                     client_id, &row, &visible)) != PM_OP_OK) {
        return o;
    }
    if ((o = reset_refusal(row)) != PM_OP_OK
        || (o = reset_address_agreed(c, row, &reached)) != PM_OP_OK
        || (o = send_reset(c, row, wait, &resent)) != PM_OP_OK
        || (o = audit_reset_elsewhere(c, account_id, *client_id, reached)) != PM_OP_OK) {
        pm_db_rollback(c->db);
        return o;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_str(detail, "kind", pm_row_str(row, ACCOUNT_REP_ID) ? "representative" : "client");
    pm_json_set_bool(detail, "resend", resent);
    if (reached->nelts > 1) {
        pm_json_set_int(detail, "other_clients", reached->nelts - 1);
    }
    return pm_op_finish(c, "account.password_reset", *client_id, account_id, detail);
}
