/* pm_op_recipient.c — the rules of a recipient's link: which invitation (or
 * password reset link) a token is and whether it is still usable; a date-of-birth
 * attempt reserved from the invitation's and the client's budgets in the statement
 * that compares the date; accepting (token consumed, account created), declining,
 * and a reset (token consumed, the account's new password). */
#include "pm_op.h"
#include "pm_status.h"
#include "pm_audit.h"

/* Unsuccessful date-of-birth attempts (a wrong date, or a taken username after a
 * right one) allowed per invitation, and per client across all its invitations
 * (the client's own and every representative's check the same date). */
#define VERIFY_ATTEMPTS_INVITATION 5
#define VERIFY_ATTEMPTS_CLIENT     10

/* An invitation status that is not "pending", as the outcome that refuses it. */
static pm_op_outcome refusal_of(const char *status)
{
    static const struct { const char *status; pm_op_outcome o; } map[] = {
        { "expired", PM_OP_EXPIRED }, { "address_changed", PM_OP_ADDRESS_CHANGED },
        { "superseded", PM_OP_SUPERSEDED }, { "revoked", PM_OP_REVOKED },
        { "locked", PM_OP_LOCKED }, { "declined", PM_OP_ANSWERED_DECLINED },
        { NULL, PM_OP_ANSWERED }
    };
    int i;

    for (i = 0; map[i].status && strcmp(map[i].status, status) != 0; i++) {
    }
    return map[i].o;
}

/* A hash no pending invitation has: retired by a newer invitation or an email
 * change, or never ours. */
static pm_op_outcome retired_token(pm_op_ctx *c, pm_op_token *t)
{
    apr_array_header_t *rows;
    const pm_row *row;

    if (pm_db_select(c->db, PM_SQL_TOKEN_SUPERSEDED, &rows, t->hash) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (rows->nelts == 0) {
        return PM_OP_INVALID_TOKEN;
    }
    row = pm_first_row(rows);
    t->named = 1;
    t->language = pm_row_str(row, RETIRED_LANGUAGE);
    t->reset = strcmp(pm_row_str(row, RETIRED_KIND), "reset") == 0;
    return pm_row_int(row, RETIRED_ADDRESS_CHANGED, 0) == 1
           ? PM_OP_ADDRESS_CHANGED : PM_OP_SUPERSEDED;
}

/* An invitation to a representative whose access has ended since it was sent (its
 * last day passed): accepting would bring an account that reaches nothing. */
static int access_ended(const pm_op_ctx *c, const pm_row *inv)
{
    return pm_access_over(pm_row_str(inv, TOKEN_ACCESS_ENDS_AT), c->now);
}

pm_op_outcome pm_op_token_resolve(pm_op_ctx *c, pm_op_token *t)
{
    apr_array_header_t *rows;
    const char *status;

    t->named = 0;
    t->language = NULL;
    t->reset = 0;
    if (pm_db_select(c->db, PM_SQL_TOKEN_FIND, &rows, t->hash) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (rows->nelts == 0) {
        return retired_token(c, t);
    }
    t->inv = &APR_ARRAY_IDX(rows, 0, pm_row);
    t->named = 1;
    t->language = pm_row_str(t->inv, TOKEN_LANGUAGE);
    t->reset = strcmp(pm_row_str(t->inv, TOKEN_KIND), "reset") == 0;
    status = pm_row_str(t->inv, TOKEN_STATUS);
    if (strcmp(status, "pending") == 0 && pm_row_int(t->inv, TOKEN_EXPIRES_AT, 0) <= c->now) {
        status = "expired";
    }
    if (pm_row_int(t->inv, TOKEN_ADDRESS_CHANGED, 0) == 1) {
        status = "address_changed";
    }
    if (strcmp(status, "pending") == 0 && pm_row_int(t->inv, TOKEN_ACCOUNT_ACTIVE, 1) != 1) {
        status = "revoked";              /* the reset's account was disabled */
    }
    if (strcmp(status, "pending") == 0 && !t->reset && access_ended(c, t->inv)) {
        status = "revoked";              /* the representative's access is over */
    }
    return strcmp(status, "pending") == 0 ? PM_OP_OK : refusal_of(status);
}

/* After an unsuccessful attempt: lock the invitation and, when the client's budget
 * is spent, every open invitation of the client. */
static apr_status_t lock_spent(pm_op_ctx *c, const pm_op_token *t, long long client_used,
                               pm_op_attempt *a)
{
    const char *client = pm_row_str(t->inv, TOKEN_CLIENT_ID);
    apr_array_header_t *rows;
    const pm_row *row;

    if (pm_db_select(c->db, PM_SQL_VERIFY_LOCK_INVITATION, &rows,
                     pm_arg_int(c->pool, VERIFY_ATTEMPTS_INVITATION),
                     pm_row_str(t->inv, TOKEN_INV_ID)) != APR_SUCCESS || rows->nelts != 1
        || pm_db_exec(c->db, PM_SQL_VERIFY_LOCK_CLIENT, NULL, client, client,
                      pm_arg_int(c->pool, VERIFY_ATTEMPTS_CLIENT)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    row = &APR_ARRAY_IDX(rows, 0, pm_row);
    a->tries_left = VERIFY_ATTEMPTS_INVITATION
                    - pm_row_int(row, LOCKED_FAILURES, VERIFY_ATTEMPTS_INVITATION);
    if (VERIFY_ATTEMPTS_CLIENT - client_used < a->tries_left) {
        a->tries_left = VERIFY_ATTEMPTS_CLIENT - client_used;
    }
    a->locked = strcmp(pm_row_str(row, LOCKED_STATUS), "locked") == 0 || a->tries_left <= 0;
    return APR_SUCCESS;
}

/* The attempt of a transaction that reserved it: a match gives both budgets back;
 * anything else stays counted, may lock, and is audited as denied. Commits. */
static pm_op_outcome settle_attempt(pm_op_ctx *c, const pm_op_token *t, const pm_row *found,
                                    const char *action, pm_op_attempt *a)
{
    const char *inv = pm_row_str(t->inv, TOKEN_INV_ID);
    const char *client = pm_row_str(t->inv, TOKEN_CLIENT_ID);
    json_t *detail = NULL;

    /* PM_COLS_RESERVED_RESET has PM_COLS_RESERVED's shape */
    if (found && pm_row_int(found, RESERVED_DATE_MATCHES, 0) == 1) {
        a->matched = 1;
        if (pm_db_exec(c->db, PM_SQL_VERIFY_REFUND_INVITATION, NULL, inv) != APR_SUCCESS
            || pm_db_exec(c->db, PM_SQL_VERIFY_REFUND_CLIENT, NULL, client) != APR_SUCCESS
            || pm_db_commit(c->db) != APR_SUCCESS) {
            return PM_OP_DB_UNAVAILABLE;
        }
        return PM_OP_OK;
    }
    if (lock_spent(c, t, found ? pm_row_int(found, RESERVED_FAILURES, 0)
                               : VERIFY_ATTEMPTS_CLIENT, a) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (a->locked) {                 /* the attempt that locked it: staff notices read this */
        detail = pm_json_object(c->pool);
        pm_json_set_bool(detail, "locked", 1);
    }
    if (pm_audit(c->q, action, pm_row_int(t->inv, TOKEN_CLIENT_ID, 0),
                 pm_row_int(t->inv, TOKEN_INV_ID, 0), PM_AUDIT_DENIED, detail) != APR_SUCCESS
        || pm_db_commit(c->db) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return PM_OP_OK;
}

/* A transaction on a link: the client's row lock first, then the invitation's, the
 * order every staff change of the client takes them in (PostgreSQL: a date of birth
 * checked while staff resend the link deadlocked, and one of them got 503). The
 * client of an invitation never changes, so the unlocked lookup's is the one. */
static pm_op_outcome begin_link_txn(pm_op_ctx *c, const pm_op_token *t)
{
    return pm_op_begin_client_txn(c, pm_row_int(t->inv, TOKEN_CLIENT_ID, 0));
}

/* A link a statement found no longer usable: rolled back, and answered what it is
 * now, as a fresh lookup would (staff withdrew it, an email change or a newer link
 * retired it, another request answered it); `still` when it looks usable again. */
static pm_op_outcome refused_now(pm_op_ctx *c, const pm_op_token *t, pm_op_outcome still)
{
    pm_op_token now = { NULL, t->hash, 0, NULL, 0 };
    pm_op_outcome o;

    pm_db_rollback(c->db);
    o = pm_op_token_resolve(c, &now);
    return o == PM_OP_OK ? still : o;
}

/* The client's attempt, reserved in the statement that compares the date: the
 * invitation's client's date — or, for a password reset link, that of any client
 * its login reaches now (a representative's one login for several clients is reset
 * with the date of whichever of them they give). The budget is the link's client's
 * either way. */
static apr_status_t reserve_client_attempt(pm_op_ctx *c, const pm_op_token *t,
                                           const char *dob, apr_array_header_t **rows)
{
    const char *client = pm_row_str(t->inv, TOKEN_CLIENT_ID);
    const char *attempts = pm_arg_int(c->pool, VERIFY_ATTEMPTS_CLIENT);

    if (t->reset) {
        return pm_db_select(c->db, PM_SQL_VERIFY_RESERVE_RESET, rows, client, attempts,
                            pm_row_str(t->inv, TOKEN_INV_ID), pm_arg_int(c->pool, c->now), dob);
    }
    return pm_db_select(c->db, PM_SQL_VERIFY_RESERVE_CLIENT, rows, client, attempts, dob);
}

/* One transaction: reserve an attempt from the invitation's budget, then from the
 * client's in the statement that compares the date (NULL dob: a username probe,
 * never a match). */
static pm_op_outcome reserve_attempt(pm_op_ctx *c, const pm_op_token *t, const char *dob,
                                     const char *action, pm_op_attempt *a)
{
    const char *inv = pm_row_str(t->inv, TOKEN_INV_ID);
    apr_array_header_t *rows;
    int reserved = 0;

    memset(a, 0, sizeof(*a));
    if (begin_link_txn(c, t) != PM_OP_OK
        || pm_db_exec(c->db, PM_SQL_VERIFY_RESERVE_INVITATION, &reserved, inv, t->hash,
                      pm_arg_int(c->pool, c->now), pm_arg_int(c->pool, VERIFY_ATTEMPTS_INVITATION))
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (reserved != 1) {                 /* answered, locked or expired meanwhile */
        return refused_now(c, t, PM_OP_LOCKED);
    }
    if (reserve_client_attempt(c, t, dob, &rows) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return settle_attempt(c, t, rows->nelts == 1 ? pm_first_row(rows) : NULL, action, a);
}

pm_op_outcome pm_op_verify_date(pm_op_ctx *c, const pm_op_token *t, const char *dob,
                                pm_op_attempt *a)
{
    return reserve_attempt(c, t, dob, t->reset ? "account.password_reset_verify_failed"
                                               : "invitation.verify_failed", a);
}

/* A taken username rolls the consumption back and costs an attempt, so usernames
 * cannot be probed without limit by the holder of a link. */
static pm_op_outcome username_taken(pm_op_ctx *c, const pm_op_token *t, pm_op_attempt *a)
{
    pm_op_outcome o;

    pm_db_rollback(c->db);
    o = reserve_attempt(c, t, NULL, "invitation.username_taken", a);
    return o == PM_OP_OK ? PM_OP_USERNAME_TAKEN : o;
}

/* Consumes the token as `status` (exactly one request can), inside a new
 * transaction (begin_link_txn). A link staff withdrew since it was looked up (an
 * email change, a resend, a revoke) is answered as such: "already answered" would
 * send someone with no account to sign in. */
static pm_op_outcome consume(pm_op_ctx *c, const pm_op_token *t, const char *status)
{
    const char *now = pm_arg_int(c->pool, c->now);
    int consumed = 0;

    if (begin_link_txn(c, t) != PM_OP_OK
        || pm_db_exec(c->db, PM_SQL_INVITATION_CONSUME, &consumed, status, now,
                      pm_row_str(t->inv, TOKEN_INV_ID), t->hash, now) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return consumed == 1 ? PM_OP_OK : refused_now(c, t, PM_OP_ANSWERED);
}

/* One person, one active account: an invitation accepted while its recipient has an
 * active account (one turned on again while the invitation was open) is refused and
 * left unused. Read under the client's row lock, which enabling an account and
 * inviting take too. */
static pm_op_outcome refuse_second_account(pm_op_ctx *c, const pm_op_token *t)
{
    apr_array_header_t *rows;

    if (pm_db_select(c->db, PM_SQL_INVITATION_RESEND_STATE, &rows,
                     pm_row_str(t->inv, TOKEN_INV_ID)) != APR_SUCCESS || rows->nelts != 1) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (pm_row_int(pm_first_row(rows), RESEND_ACCOUNTS, 0) > 0) {
        pm_db_rollback(c->db);
        return PM_OP_HAS_ACCOUNT;
    }
    return PM_OP_OK;
}

/* consume() as "accepted", then refuse_second_account() */
static pm_op_outcome consume_acceptance(pm_op_ctx *c, const pm_op_token *t)
{
    pm_op_outcome o = consume(c, t, "accepted");

    return o == PM_OP_OK ? refuse_second_account(c, t) : o;
}

pm_op_outcome pm_op_accept(pm_op_ctx *c, const pm_op_token *t, const char *username,
                           const char *hash, pm_op_attempt *a)
{
    apr_array_header_t *rows;
    pm_op_outcome o;

    if ((o = consume_acceptance(c, t)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_select(c->db, PM_SQL_ACCOUNT_INSERT, &rows, username, hash,
                     pm_row_str(t->inv, TOKEN_CLIENT_ID), pm_row_str(t->inv, TOKEN_REP_ID),
                     pm_row_str(t->inv, TOKEN_INV_ID), pm_arg_int(c->pool, c->now))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (rows->nelts == 0) {
        return username_taken(c, t, a);
    }
    /* its grant on the client comes with it (the portal_accounts_home_grant trigger,
     * migration 017: the representative's scopes and days) */
    if (pm_db_exec(c->db, PM_SQL_VERIFY_RESET_CLIENT, NULL, pm_row_str(t->inv, TOKEN_CLIENT_ID))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    return pm_op_finish(c, "invitation.accept", pm_row_int(t->inv, TOKEN_CLIENT_ID, 0),
                        pm_row_int(t->inv, TOKEN_INV_ID, 0), NULL);
}

pm_op_outcome pm_op_link_failed(pm_op_ctx *c, const pm_op_token *t, pm_op_attempt *a)
{
    return reserve_attempt(c, t, NULL, "invitation.link_failed", a);
}

/* The login to join, checked before the transaction, may have been disabled since:
 * its row locked while still active, or NOT_LINKABLE with nothing consumed. */
static pm_op_outcome lock_linkable(pm_op_ctx *c, long long account_id)
{
    int locked = 0;

    if (pm_db_exec(c->db, PM_SQL_ACCOUNT_LOCK_ACTIVE, &locked, pm_arg_int(c->pool, account_id))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (locked != 1) {
        pm_db_rollback(c->db);
        return PM_OP_NOT_LINKABLE;
    }
    return PM_OP_OK;
}

pm_op_outcome pm_op_accept_linked(pm_op_ctx *c, const pm_op_token *t, long long account_id)
{
    json_t *detail;
    pm_op_outcome o;

    if ((o = consume_acceptance(c, t)) != PM_OP_OK
        || (o = lock_linkable(c, account_id)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_GRANT_INSERT, NULL, pm_arg_int(c->pool, account_id),
                   pm_row_str(t->inv, TOKEN_CLIENT_ID), pm_arg_int(c->pool, c->now),
                   pm_row_str(t->inv, TOKEN_REP_ID)) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_VERIFY_RESET_CLIENT, NULL, pm_row_str(t->inv, TOKEN_CLIENT_ID))
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_bool(detail, "linked", 1);
    pm_json_set_int(detail, "account_id", account_id);
    return pm_op_finish(c, "invitation.accept", pm_row_int(t->inv, TOKEN_CLIENT_ID, 0),
                        pm_row_int(t->inv, TOKEN_INV_ID, 0), detail);
}

pm_op_outcome pm_op_decline(pm_op_ctx *c, const pm_op_token *t)
{
    pm_op_outcome o = consume(c, t, "declined");

    if (o != PM_OP_OK) {
        return o;
    }
    return pm_op_finish(c, "invitation.decline", pm_row_int(t->inv, TOKEN_CLIENT_ID, 0),
                        pm_row_int(t->inv, TOKEN_INV_ID, 0), NULL);
}

pm_op_outcome pm_op_reset_password(pm_op_ctx *c, const pm_op_token *t, const char *hash)
{
    const char *account = pm_row_str(t->inv, TOKEN_ACCOUNT_ID);
    pm_op_outcome o;
    json_t *detail;
    int changed = 0;

    if ((o = consume(c, t, "accepted")) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_ACCOUNT_SET_PASSWORD, &changed, hash, account) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (changed != 1) {                  /* disabled since the link was resolved */
        pm_db_rollback(c->db);
        return PM_OP_REVOKED;
    }
    if (pm_db_exec(c->db, PM_SQL_VERIFY_RESET_CLIENT, NULL, pm_row_str(t->inv, TOKEN_CLIENT_ID))
        != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(c->pool);
    pm_json_set_int(detail, "invitation_id", pm_row_int(t->inv, TOKEN_INV_ID, 0));
    return pm_op_finish(c, "account.password_reset_done", pm_row_int(t->inv, TOKEN_CLIENT_ID, 0),
                        pm_row_int(t->inv, TOKEN_ACCOUNT_ID, 0), detail);
}
