/* pm_op_representative.c — the representative operations: create and invite in
 * one transaction, edit (a new email supersedes pending invitations), reinvite,
 * remove (open invitations revoked, accounts disabled). All under the client's
 * row lock; a representative is visible exactly when its client is. */
#include "pm_op.h"
#include "pm_locale.h"
#include "pm_scopes.h"
#include "pm_settings_def.h"

static pm_op_outcome load_rep(pm_op_ctx *c, long long rep_id, const char *action,
                              const pm_row **rep)
{
    return pm_op_load_visible(c, PM_SQL_REP_GET_VISIBLE, rep_id, action, rep);
}

/* Settings read, and representatives turned on in them. */
static pm_op_outcome representatives_enabled(pm_op_ctx *c)
{
    pm_op_outcome o = pm_op_settings(c);

    return o != PM_OP_OK ? o : c->st.representatives_enabled ? PM_OP_OK : PM_OP_REPS_DISABLED;
}

/* ---- access: scopes and dates ---- */

typedef struct rep_access {
    const char *scopes;
    const char *starts_at, *ends_at;    /* epoch seconds as text; NULL: open */
} rep_access;

/* The settings' modules object (NULL: never stored, every module on). */
static pm_op_outcome load_modules(pm_op_ctx *c, json_t **modules)
{
    const char *text;

    *modules = NULL;
    if (pm_setting_stored(c->db, "modules", &text) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (text && (*modules = json_loads(text, 0, NULL)) != NULL) {
        pm_json_pool(c->pool, *modules);
    }
    return PM_OP_OK;
}

/* A date the request sent (YYYY-MM-DD, or NULL to clear) as epoch text: the day's
 * first second, or with `after` the first second of the next day. */
static const char *day_bound(pm_op_ctx *c, const char *ymd, int after)
{
    char buf[64];
    long long t;

    if (ymd == NULL
        || !pm_locale_day_start(ymd, after, pm_time_zone_name(c->st.time_zone, buf, sizeof(buf)),
                                &t)) {
        return NULL;
    }
    return pm_arg_int(c->pool, t);
}

/* Has access that ends at `ends_at` (epoch seconds as text, the first second after
 * its last day; NULL: open) already ended? An invitation would then be useless. */
static int access_over(const pm_op_ctx *c, const char *ends_at)
{
    return ends_at && apr_atoi64(ends_at) <= c->now;
}

/* The access the representative will have: what the request sent, else what the
 * row has (rep; NULL for a new one: the enabled scopes, no dates). */
static pm_op_outcome resolve_access(pm_op_ctx *c, const pm_op_rep *in, const pm_row *rep,
                                    rep_access *a)
{
    json_t *modules;
    pm_op_outcome o;

    if ((o = pm_op_settings(c)) != PM_OP_OK || (o = load_modules(c, &modules)) != PM_OP_OK) {
        return o;
    }
    if (in->scopes && pm_scopes_first_disabled(c->pool, in->scopes, modules)) {
        return PM_OP_SCOPE_OFF;
    }
    a->scopes = in->scopes ? in->scopes
              : rep ? pm_row_str(rep, VISIBLE_REP_SCOPES) : pm_scopes_default(c->pool, modules);
    a->starts_at = in->starts_given ? day_bound(c, in->starts_on, 0)
                 : rep ? pm_row_str(rep, VISIBLE_REP_STARTS_AT) : NULL;
    a->ends_at = in->ends_given ? day_bound(c, in->ends_on, 1)
               : rep ? pm_row_str(rep, VISIBLE_REP_ENDS_AT) : NULL;
    if (a->starts_at && a->ends_at
        && apr_atoi64(a->ends_at) <= apr_atoi64(a->starts_at)) {
        return PM_OP_BAD_DATES;
    }
    return PM_OP_OK;
}

static json_t *access_json(pm_op_ctx *c, const char *scopes, const char *starts,
                           const char *ends)
{
    char buf[64];
    const char *zone = pm_time_zone_name(c->st.time_zone, buf, sizeof(buf));
    json_t *o = json_object();

    json_object_set_new(o, "scopes", pm_scopes_json(scopes));
    pm_json_set_str(o, "starts_at",
                    starts ? pm_locale_day_of(c->pool, apr_atoi64(starts), zone) : NULL);
    pm_json_set_str(o, "ends_at",
                    ends ? pm_locale_day_of(c->pool, apr_atoi64(ends) - 1, zone) : NULL);
    return o;
}

static int same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The audit detail's before/after of the access, when it changed. */
static void note_access_change(pm_op_ctx *c, json_t *detail, const pm_row *rep,
                               const rep_access *a, int grants)
{
    const char *scopes = pm_row_str(rep, VISIBLE_REP_SCOPES);
    const char *starts = pm_row_str(rep, VISIBLE_REP_STARTS_AT);
    const char *ends = pm_row_str(rep, VISIBLE_REP_ENDS_AT);
    json_t *change;

    if (same_text(scopes, a->scopes) && same_text(starts, a->starts_at)
        && same_text(ends, a->ends_at)) {
        return;
    }
    change = json_object();
    json_object_set_new(change, "before", access_json(c, scopes, starts, ends));
    json_object_set_new(change, "after", access_json(c, a->scopes, a->starts_at, a->ends_at));
    json_object_set_new(detail, "access", change);
    pm_json_set_int(detail, "grants_changed", grants);
}

pm_op_outcome pm_op_rep_create(pm_op_ctx *c, long long client_id, pm_op_rep *in,
                               long long *rep_id, long long *invitation_id)
{
    const pm_row *client;
    apr_array_header_t *rows;
    pm_op_outcome o;
    rep_access a;

    *rep_id = *invitation_id = 0;
    if ((o = pm_op_load_visible(c, PM_SQL_CLIENT_GET_VISIBLE, client_id, "representative.create",
                                &client)) != PM_OP_OK
        || (o = representatives_enabled(c)) != PM_OP_OK
        || (o = resolve_access(c, in, NULL, &a)) != PM_OP_OK) {
        return o;
    }
    if (access_over(c, a.ends_at)) {
        return PM_OP_ACCESS_ENDED;
    }
    if ((o = pm_op_begin_client_txn(c, client_id)) != PM_OP_OK) {
        return o;
    }
    in->scopes = a.scopes;                      /* as stored, for the answer */
    if (pm_db_select(c->db, PM_SQL_REP_INSERT, &rows, pm_arg_int(c->pool, client_id), in->email,
                     in->first_name, in->last_name, in->relationship, in->preferred_language,
                     c->staff->username, pm_arg_int(c->pool, c->now), a.scopes, a.starts_at,
                     a.ends_at) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (rows->nelts == 0) {
        return PM_OP_DUPLICATE;
    }
    *rep_id = pm_row_int(pm_first_row(rows), INSERTED_ID, 0);
    if ((o = pm_op_create_invitation(c, client_id, *rep_id, in->email, invitation_id))
        != PM_OP_OK) {
        return o;
    }
    if (*invitation_id == 0) {           /* a new representative has none pending */
        return PM_OP_DB_UNAVAILABLE;
    }
    return pm_op_finish(c, "representative.create", client_id, *rep_id, NULL);
}

/* The fields `in` leaves NULL, from the representative's row. */
static void fill_unchanged(pm_op_rep *in, const pm_row *rep)
{
    in->email = in->email ? in->email : pm_row_str(rep, VISIBLE_REP_EMAIL);
    in->first_name = in->first_name ? in->first_name : pm_row_str(rep, VISIBLE_REP_FIRST_NAME);
    in->last_name = in->last_name ? in->last_name : pm_row_str(rep, VISIBLE_REP_LAST_NAME);
    in->relationship = in->relationship ? in->relationship
                                        : pm_row_str(rep, VISIBLE_REP_RELATIONSHIP);
    if (!in->language_given) {
        in->preferred_language = pm_row_str(rep, VISIBLE_REP_LANGUAGE);
    }
}

pm_op_outcome pm_op_rep_update(pm_op_ctx *c, long long rep_id, pm_op_rep *in,
                               long long *client_id)
{
    apr_pool_t *p = c->pool;
    const char *rid = pm_arg_int(p, rep_id);
    const pm_row *rep;
    apr_array_header_t *taken;
    pm_op_outcome o;
    int superseded = 0, grants = 0, revoked = 0, cleared = 0;
    int email_given = in->email != NULL;
    pm_notice notice;
    json_t *detail;
    rep_access a;

    if ((o = load_rep(c, rep_id, "representative.update", &rep)) != PM_OP_OK) {
        return o;
    }
    *client_id = pm_row_int(rep, VISIBLE_REP_CLIENT_ID, 0);
    fill_unchanged(in, rep);
    if ((o = pm_op_begin_client_txn(c, *client_id)) != PM_OP_OK
        || (o = load_rep(c, rep_id, NULL, &rep)) != PM_OP_OK        /* after the lock */
        || (o = resolve_access(c, in, rep, &a)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_select(c->db, PM_SQL_REP_EMAIL_TAKEN, &taken, pm_arg_int(p, *client_id), in->email,
                     rid) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    if (taken->nelts > 0) {
        return PM_OP_DUPLICATE;
    }
    if (pm_db_exec(c->db, PM_SQL_REP_SUPERSEDE_PENDING, &superseded, pm_arg_int(p, c->now), rid,
                   in->email) != APR_SUCCESS
        /* the old address hears of a change while the person has an account, unless
         * staff withhold it (issue 14) */
        || pm_op_queue_address_notice(c, 1, rep_id, in->email, in->notify_old_address,
                                      &notice) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_REP_UPDATE, NULL, in->email, in->first_name, in->last_name,
                      in->relationship, in->preferred_language, a.scopes, a.starts_at,
                      a.ends_at, rid) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_REP_GRANTS_UPDATE, &grants, a.scopes, a.starts_at, a.ends_at,
                      rid) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    /* an address staff sent is one they checked: its bounces no longer refuse */
    if (email_given
        && pm_db_exec(c->db, PM_SQL_BOUNCES_CLEAR_REP, &cleared, pm_arg_int(p, c->now), rid,
                      in->email) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    /* access that ends with this edit: an open invitation would bring an account
     * that reaches nothing, so it is withdrawn in the same transaction */
    if (access_over(c, a.ends_at)
        && pm_db_exec(c->db, PM_SQL_REP_REVOKE_OPEN, &revoked, pm_arg_int(p, c->now), rid)
           != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(p);
    pm_json_set_int(detail, "superseded_invitations", superseded);
    if (revoked > 0) {
        pm_json_set_int(detail, "revoked_invitations", revoked);
    }
    if (cleared > 0) {
        pm_json_set_int(detail, "cleared_bounces", cleared);
    }
    pm_op_note_address_notice(detail, notice);
    note_access_change(c, detail, rep, &a, grants);
    return pm_op_finish(c, "representative.update", *client_id, rep_id, detail);
}

pm_op_outcome pm_op_rep_invite(pm_op_ctx *c, long long rep_id, long long *invitation_id)
{
    const pm_row *rep;
    long long client_id;
    pm_op_outcome o;

    *invitation_id = 0;
    if ((o = load_rep(c, rep_id, "invitation.create", &rep)) != PM_OP_OK
        || (o = pm_op_settings(c)) != PM_OP_OK) {
        return o;
    }
    client_id = pm_row_int(rep, VISIBLE_REP_CLIENT_ID, 0);
    if ((o = representatives_enabled(c)) != PM_OP_OK
        || (o = pm_op_begin_client_txn(c, client_id)) != PM_OP_OK
        || (o = load_rep(c, rep_id, NULL, &rep)) != PM_OP_OK) {  /* after the lock */
        return o;
    }
    if (pm_row_int(rep, VISIBLE_REP_ACCOUNTS, 0) > 0) {
        return PM_OP_ALREADY_ACTIVE;
    }
    if (access_over(c, pm_row_str(rep, VISIBLE_REP_ENDS_AT))) {
        return PM_OP_ACCESS_ENDED;
    }
    if ((o = pm_op_create_invitation(c, client_id, rep_id, pm_row_str(rep, VISIBLE_REP_EMAIL),
                                     invitation_id)) != PM_OP_OK) {
        return o;
    }
    if (*invitation_id == 0) {
        return PM_OP_PENDING;
    }
    return pm_op_finish(c, "invitation.create", client_id, *invitation_id, NULL);
}

pm_op_outcome pm_op_rep_remove(pm_op_ctx *c, long long rep_id, long long *client_id)
{
    apr_pool_t *p = c->pool;
    const char *rid = pm_arg_int(p, rep_id), *now = pm_arg_int(p, c->now);
    const pm_row *rep;
    pm_op_outcome o;
    int revoked = 0, disabled = 0;
    json_t *detail;

    if ((o = load_rep(c, rep_id, "representative.remove", &rep)) != PM_OP_OK) {
        return o;
    }
    *client_id = pm_row_int(rep, VISIBLE_REP_CLIENT_ID, 0);
    if ((o = pm_op_begin_client_txn(c, *client_id)) != PM_OP_OK) {
        return o;
    }
    if (pm_db_exec(c->db, PM_SQL_REP_REVOKE_OPEN, &revoked, now, rid) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_REP_END_GRANTS, NULL, now, c->staff->username, rid)
           != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_REP_LOCK_ACCOUNTS, NULL, rid) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_REP_DISABLE_ACCOUNTS, &disabled, now,
                      c->staff->username, rid) != APR_SUCCESS
        || pm_db_exec(c->db, PM_SQL_REP_REMOVE, NULL, now, rid) != APR_SUCCESS) {
        return PM_OP_DB_UNAVAILABLE;
    }
    detail = pm_json_object(p);
    pm_json_set_int(detail, "revoked_invitations", revoked);
    pm_json_set_int(detail, "disabled_accounts", disabled);
    return pm_op_finish(c, "representative.remove", *client_id, rep_id, detail);
}
