/* pm_api_representatives.c — client representatives in the staff API: "invite
 * client representative" (create + invite in one transaction), edit, reinvite,
 * remove. A representative is visible exactly when its client is. */
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_store.h"
#include "pm_text.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

static const char *const rep_fields[] = { "email", "first_name", "last_name", "relationship",
                                          NULL };
static const char *const no_fields[] = { NULL };

typedef struct {
    const char *email, *first_name, *last_name, *relationship;
} rep_input;

static int invalid(pm_req *q, const char *code, const char *field, const char *what,
                   const char *problem)
{
    return pm_http_unprocessable(q, code,
                                 apr_pstrcat(q->r->pool, what, " ", problem, ".", NULL), field);
}

/* Reads one optional string field; 422 when present but not a string. */
static int string_field(pm_req *q, const char *field, const char **out)
{
    json_t *v = pm_http_body_field(q, field);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return PM_NEXT;
    }
    if (!json_is_string(v)) {
        const char *code = strcmp(field, "first_name") == 0 || strcmp(field, "last_name") == 0
                           ? "invalid_name" : apr_pstrcat(q->r->pool, "invalid_", field, NULL);
        return invalid(q, code, field, "This field", "must be text");
    }
    *out = json_string_value(v);
    return PM_NEXT;
}

static int is_relationship(const char *s)
{
    static const char *const known[] = { "parent", "guardian", "spouse", "caregiver", "other",
                                         NULL };
    const char *const *k;

    for (k = known; *k; k++) {
        if (strcmp(*k, s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Parses and validates; with `partial`, absent fields stay NULL. */
static int read_rep_input(pm_req *q, rep_input *in, int partial)
{
    const char *problem;
    int rc;

    if ((rc = pm_http_check_fields(q, rep_fields)) != PM_NEXT
        || (rc = string_field(q, "email", &in->email)) != PM_NEXT
        || (rc = string_field(q, "first_name", &in->first_name)) != PM_NEXT
        || (rc = string_field(q, "last_name", &in->last_name)) != PM_NEXT
        || (rc = string_field(q, "relationship", &in->relationship)) != PM_NEXT) {
        return rc;
    }
    if ((in->email || !partial) && (problem = pm_email_problem(in->email ? in->email : ""))) {
        return invalid(q, "invalid_email", "email", "This email address", problem);
    }
    if ((in->first_name || !partial)
        && (problem = pm_name_problem(in->first_name ? in->first_name : ""))) {
        return invalid(q, "invalid_name", "first_name", "The first name", problem);
    }
    if ((in->last_name || !partial)
        && (problem = pm_name_problem(in->last_name ? in->last_name : ""))) {
        return invalid(q, "invalid_name", "last_name", "The last name", problem);
    }
    if (in->relationship && !is_relationship(in->relationship)) {
        return invalid(q, "invalid_relationship", "relationship", "The relationship",
                       "must be parent, guardian, spouse, caregiver or other");
    }
    return PM_NEXT;
}

static int representatives_disabled(pm_req *q)
{
    return pm_http_conflict(q, "representatives_disabled",
                            "Inviting representatives is turned off in the portal settings.");
}

static int duplicate(pm_req *q)
{
    return pm_http_conflict(q, "duplicate_representative",
                            "This client already has a representative with that email address.");
}

static json_t *rep_json(pm_req *q, long long id, const rep_input *in)
{
    json_t *rep = json_object();

    pm_json_set_int(rep, "id", id);
    pm_json_set_str(rep, "email", in->email);
    pm_json_set_str(rep, "first_name", in->first_name);
    pm_json_set_str(rep, "last_name", in->last_name);
    pm_json_set_str(rep, "relationship", in->relationship);
    return rep;
}

/* ---- POST /clients/{id}/representatives ------------------------------------------ */

int pm_api_rep_create(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    const pm_row *client;
    apr_array_header_t *rows, *inv;
    pm_settings st;
    rep_input in;
    long long rep_id, inv_id = 0;
    const char *cid = pm_arg_int(p, q->ids[0]);
    json_t *doc;
    int rc;

    if ((rc = read_rep_input(q, &in, 0)) != PM_NEXT
        || (rc = pm_api_load_visible_client(q, "representative.create", &client)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    if (!st.representatives_enabled) {
        return representatives_disabled(q);
    }
    if ((rc = pm_api_begin_client_txn(q, q->ids[0])) != PM_NEXT) {
        return rc;
    }
    if (pm_db_select(q->db, PM_SQL_REP_INSERT, &rows, cid, in.email, in.first_name,
                        in.last_name, in.relationship, q->staff->username,
                        pm_arg_int(p, pm_now_sec(q->r))) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (rows->nelts == 0) {
        return duplicate(q);
    }
    rep_id = pm_row_int(pm_first_row(rows), INSERTED_ID, 0);
    if (pm_api_create_invitation(q, q->ids[0], rep_id, in.email, &st, &inv_id) != APR_SUCCESS
        || inv_id == 0
        || pm_audit(q, "representative.create", q->ids[0], rep_id, PM_AUDIT_OK, NULL) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS
        || pm_db_select(q->db, PM_SQL_INVITATION_ONE, &inv, pm_arg_int(p, inv_id)) != APR_SUCCESS
        || inv->nelts != 1) {
        return pm_http_db_unavailable(q);
    }
    doc = pm_json_object(p);
    json_object_set_new(doc, "representative", rep_json(q, rep_id, &in));
    json_object_set_new(doc, "invitation", pm_api_invitation_json(q, &APR_ARRAY_IDX(inv, 0, pm_row)));
    return pm_http_send_json(q, HTTP_CREATED, doc);
}

/* ---- /representatives/{id} ---------------------------------------------------------- */

static int load_visible_rep(pm_req *q, const char *action, const pm_row **out)
{
    return pm_api_load_visible(q, PM_SQL_REP_GET_VISIBLE, action, "representative", out);
}

/* Answers with the client's whole view (ids[0] becomes the client id). */
static int send_client_of(pm_req *q, long long client_id, int status)
{
    const pm_row *client;
    json_t *view;
    int rc;

    q->ids[0] = client_id;
    if ((rc = pm_api_load_visible_client(q, "client.view", &client)) != PM_NEXT
        || (rc = pm_api_build_client_view(q, client, &view)) != PM_NEXT) {
        return rc;
    }
    return pm_http_send_json(q, status, view);
}

int pm_api_rep_update(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    const pm_row *rep;
    apr_array_header_t *taken;
    rep_input in;
    const char *rid = pm_arg_int(p, q->ids[0]);
    long long client_id;
    int rc, superseded = 0;
    json_t *detail;

    if ((rc = read_rep_input(q, &in, 1)) != PM_NEXT
        || (rc = load_visible_rep(q, "representative.update", &rep)) != PM_NEXT) {
        return rc;
    }
    client_id = pm_row_int(rep, VISIBLE_REP_CLIENT_ID, 0);
    in.email = in.email ? in.email : pm_row_str(rep, VISIBLE_REP_EMAIL);
    in.first_name = in.first_name ? in.first_name : pm_row_str(rep, VISIBLE_REP_FIRST_NAME);
    in.last_name = in.last_name ? in.last_name : pm_row_str(rep, VISIBLE_REP_LAST_NAME);
    in.relationship = in.relationship ? in.relationship : pm_row_str(rep, VISIBLE_REP_RELATIONSHIP);
    if ((rc = pm_api_begin_client_txn(q, client_id)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_select(q->db, PM_SQL_REP_EMAIL_TAKEN, &taken, pm_arg_int(p, client_id),
                        in.email, rid) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (taken->nelts > 0) {
        return duplicate(q);
    }
    if (pm_db_exec(q->db, PM_SQL_REP_SUPERSEDE_PENDING, &superseded, pm_arg_int(p, pm_now_sec(q->r)),
                   rid, in.email) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_REP_UPDATE, NULL, in.email, in.first_name, in.last_name,
                      in.relationship, rid) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    detail = pm_json_object(p);
    pm_json_set_int(detail, "superseded_invitations", superseded);
    if (pm_audit(q, "representative.update", client_id, q->ids[0], PM_AUDIT_OK, detail)
            != APR_SUCCESS || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return send_client_of(q, client_id, HTTP_OK);
}

/* The representative again, read inside the transaction (after the client's row
 * lock): removed or given an account meanwhile is seen. */
static int reload_rep(pm_req *q, const pm_row **rep)
{
    return pm_api_load_visible(q, PM_SQL_REP_GET_VISIBLE, NULL, "representative", rep);
}

int pm_api_rep_invite(pm_req *q)
{
    const pm_row *rep;
    pm_settings st;
    long long id = 0, client_id;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT
        || (rc = load_visible_rep(q, "invitation.create", &rep)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    client_id = pm_row_int(rep, VISIBLE_REP_CLIENT_ID, 0);
    if (!st.representatives_enabled) {
        return representatives_disabled(q);
    }
    if ((rc = pm_api_begin_client_txn(q, client_id)) != PM_NEXT
        || (rc = reload_rep(q, &rep)) != PM_NEXT) {
        return rc;
    }
    if (pm_row_int(rep, VISIBLE_REP_ACCOUNTS, 0) > 0) {
        return pm_http_conflict(q, "already_active",
                                "This representative already has an active portal account.");
    }
    if (pm_api_create_invitation(q, client_id, q->ids[0], pm_row_str(rep, VISIBLE_REP_EMAIL), &st,
                                 &id) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (id == 0) {
        return pm_api_invitation_pending(q);
    }
    if (pm_audit(q, "invitation.create", client_id, id, PM_AUDIT_OK, NULL) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_api_answer_invitation(q, HTTP_CREATED, id);
}

int pm_api_rep_remove(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    const pm_row *rep;
    const char *rid = pm_arg_int(p, q->ids[0]), *now = pm_arg_int(p, pm_now_sec(q->r));
    long long client_id;
    int rc, revoked = 0, disabled = 0;
    json_t *detail;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT
        || (rc = load_visible_rep(q, "representative.remove", &rep)) != PM_NEXT) {
        return rc;
    }
    client_id = pm_row_int(rep, VISIBLE_REP_CLIENT_ID, 0);
    if ((rc = pm_api_begin_client_txn(q, client_id)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_exec(q->db, PM_SQL_REP_REVOKE_OPEN, &revoked, now, rid) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_REP_DISABLE_ACCOUNTS, &disabled, rid) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_REP_REMOVE, NULL, now, rid) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    detail = pm_json_object(p);
    pm_json_set_int(detail, "revoked_invitations", revoked);
    pm_json_set_int(detail, "disabled_accounts", disabled);
    if (pm_audit(q, "representative.remove", client_id, q->ids[0], PM_AUDIT_OK, detail)
            != APR_SUCCESS || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return send_client_of(q, client_id, HTTP_OK);
}
