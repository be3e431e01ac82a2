/* pm_api_representatives.c — client representatives in the staff API: "invite
 * client representative" (create + invite), edit, reinvite, remove. Thin
 * handlers: read and check the body, run pm_op_representative.c, answer. */
#include "pm_api.h"
#include "pm_date.h"
#include "pm_locale.h"
#include "pm_scopes.h"
#include "pm_op.h"
#include "pm_text.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

static const char *const rep_fields[] = { "email", "first_name", "last_name", "relationship",
                                          "preferred_language", "scopes", "starts_at",
                                          "ends_at", NULL };
static const char *const rep_update_fields[] = { "email", "first_name", "last_name",
                                                 "relationship", "preferred_language", "scopes",
                                                 "starts_at", "ends_at", "notify_old_address",
                                                 NULL };
static const char *const no_fields[] = { NULL };

typedef pm_op_rep rep_input;

static const pm_api_answer answers[] = {
    { PM_OP_NO_CLIENT, NULL, HTTP_NOT_FOUND, "not_found", "There is no client with this id.", NULL },
    { PM_OP_NO_REPRESENTATIVE, NULL, HTTP_NOT_FOUND, "not_found",
      "There is no representative with this id.", NULL },
    { PM_OP_REPS_DISABLED, NULL, HTTP_CONFLICT, "representatives_disabled",
      "Inviting representatives is turned off in the portal settings.", NULL },
    { PM_OP_DUPLICATE, NULL, HTTP_CONFLICT, "duplicate_representative",
      "This client already has a representative with that email address.", NULL },
    { PM_OP_ALREADY_ACTIVE, NULL, HTTP_CONFLICT, "already_active",
      "This representative already has an active portal account.", NULL },
    { PM_OP_DISCHARGED, NULL, HTTP_CONFLICT, "client_discharged", PM_API_DISCHARGED, NULL },
    { PM_OP_PENDING, NULL, HTTP_CONFLICT, "invitation_pending", "An invitation is already on "
      "its way to this person. Use resend if it did not arrive.", NULL },
    { PM_OP_SCOPE_OFF, NULL, HTTP_UNPROCESSABLE_ENTITY, "invalid_scopes", "A scope names a part "
      "of the portal that is turned off in the portal settings.", "scopes" },
    { PM_OP_BAD_DATES, NULL, HTTP_UNPROCESSABLE_ENTITY, "invalid_dates", "The access must end "
      "on or after the day it starts.", "ends_at" },
    { PM_OP_ACCESS_ENDED, "create", HTTP_UNPROCESSABLE_ENTITY, "access_ended", "The access "
      "would already be over: its last day is in the past. Leave the end open or choose a "
      "day from today on.", "ends_at" },
    { PM_OP_ACCESS_ENDED, NULL, HTTP_CONFLICT, "access_ended", "This representative's access "
      "has ended, so an invitation would lead to a portal with nothing to see. Change the "
      "access first.", NULL },
    { PM_OP_EMAIL_BOUNCED, NULL, HTTP_CONFLICT, "email_bounced", "An email to this address "
      "bounced: the address does not work. Check it with the person and change it first.",
      NULL },
    { 0, NULL, 0, NULL, NULL, NULL }
};

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

/* preferred_language: a language with a catalog, or null (the practice's default). */
static int read_language(pm_req *q, rep_input *in)
{
    json_t *v = pm_http_body_field(q, "preferred_language");

    in->language_given = v != NULL;
    in->preferred_language = NULL;
    if (v == NULL || json_is_null(v)) {
        return PM_NEXT;
    }
    if (!json_is_string(v) || !pm_language_known(json_string_value(v))) {
        return invalid(q, "invalid_language", "preferred_language", "The language",
                       apr_psprintf(q->r->pool, "must be one the portal has a catalog for (%s) "
                                    "or null for the practice's default",
                                    pm_languages_text(q->r->pool)));
    }
    in->preferred_language = json_string_value(v);
    return PM_NEXT;
}

/* scopes: a list of scope names (absent: the enabled ones, or unchanged). */
static int read_scopes(pm_req *q, rep_input *in)
{
    json_t *v = pm_http_body_field(q, "scopes");
    const char *problem;

    in->scopes = NULL;
    if (v == NULL) {
        return PM_NEXT;
    }
    if ((problem = pm_scopes_parse(q->r->pool, v, &in->scopes)) != NULL) {
        return invalid(q, "invalid_scopes", "scopes", "The scopes", problem);
    }
    return PM_NEXT;
}

/* starts_at / ends_at: a date (YYYY-MM-DD or MM/DD/YYYY), or null for open. */
static int read_day(pm_req *q, const char *field, const char **day, int *given)
{
    json_t *v = pm_http_body_field(q, field);
    char ymd[11];

    *given = v != NULL;
    *day = NULL;
    if (v == NULL || json_is_null(v)) {
        return PM_NEXT;
    }
    if (!json_is_string(v) || !pm_search_date(json_string_value(v), ymd)) {
        return invalid(q, "invalid_dates", field, "This date",
                       "must be a real date written YYYY-MM-DD, or null for none");
    }
    *day = apr_pstrdup(q->r->pool, ymd);
    return PM_NEXT;
}

/* Parses and validates; with `partial`, absent fields stay NULL. */
static int read_rep_input(pm_req *q, rep_input *in, int partial)
{
    const char *problem;
    int rc;

    if ((rc = pm_http_check_fields(q, partial ? rep_update_fields : rep_fields)) != PM_NEXT
        || (rc = string_field(q, "email", &in->email)) != PM_NEXT
        || (rc = string_field(q, "first_name", &in->first_name)) != PM_NEXT
        || (rc = string_field(q, "last_name", &in->last_name)) != PM_NEXT
        || (rc = string_field(q, "relationship", &in->relationship)) != PM_NEXT
        || (rc = read_language(q, in)) != PM_NEXT
        || (rc = read_scopes(q, in)) != PM_NEXT
        || (rc = read_day(q, "starts_at", &in->starts_on, &in->starts_given)) != PM_NEXT
        || (rc = read_day(q, "ends_at", &in->ends_on, &in->ends_given)) != PM_NEXT
        || (rc = pm_api_read_notify_old_address(q, &in->notify_old_address)) != PM_NEXT) {
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

/* The practice's zone, for showing access dates (read only when a date is shown). */
static const char *practice_zone(pm_req *q)
{
    pm_settings st;

    if (pm_settings_load(q->db, q->r->pool, &st) != APR_SUCCESS) {
        st.time_zone = NULL;
    }
    return pm_practice_zone(q->r->pool, st.time_zone, NULL);
}

void pm_api_rep_access_json(pm_req *q, json_t *rep, const char *scopes, const char *starts,
                            const char *ends)
{
    const char *zone = starts || ends ? practice_zone(q) : NULL;
    apr_pool_t *p = q->r->pool;

    json_object_set_new(rep, "scopes", pm_scopes_json(scopes));
    pm_json_set_str(rep, "starts_at", starts ? pm_locale_day_of(p, apr_atoi64(starts), zone) : NULL);
    pm_json_set_str(rep, "ends_at", ends ? pm_locale_day_of(p, apr_atoi64(ends) - 1, zone) : NULL);
}

static json_t *rep_json(pm_req *q, long long id, const rep_input *in)
{
    json_t *rep = json_object();

    pm_json_set_int(rep, "id", id);
    pm_json_set_str(rep, "email", in->email);
    pm_json_set_str(rep, "first_name", in->first_name);
    pm_json_set_str(rep, "last_name", in->last_name);
    pm_json_set_str(rep, "relationship", in->relationship);
    pm_json_set_str(rep, "preferred_language", in->preferred_language);
    json_object_set_new(rep, "scopes", pm_scopes_json(in->scopes));
    pm_json_set_str(rep, "starts_at", in->starts_on);
    pm_json_set_str(rep, "ends_at", in->ends_on);
    return rep;
}

/* ---- POST /clients/{id}/representatives ------------------------------------------ */

/* 201 with the representative and its first invitation. */
static int send_created(pm_req *q, long long rep_id, const rep_input *in, long long inv_id)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *inv;
    json_t *doc;

    if (pm_db_select(q->db, PM_SQL_INVITATION_ONE, &inv, pm_arg_int(p, inv_id)) != APR_SUCCESS
        || inv->nelts != 1) {
        return pm_http_db_unavailable(q);
    }
    doc = pm_json_object(p);
    json_object_set_new(doc, "representative", rep_json(q, rep_id, in));
    json_object_set_new(doc, "invitation", pm_api_invitation_json(q, &APR_ARRAY_IDX(inv, 0, pm_row)));
    return pm_http_send_json(q, HTTP_CREATED, doc);
}

int pm_api_rep_create(pm_req *q)
{
    pm_op_ctx c;
    pm_op_outcome o;
    rep_input in;
    long long rep_id, inv_id;
    int rc;

    if ((rc = read_rep_input(q, &in, 0)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_rep_create(&c, q->ids[0], &in, &rep_id, &inv_id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "create", o);
    }
    return send_created(q, rep_id, &in, inv_id);
}

/* ---- /representatives/{id} ---------------------------------------------------------- */

int pm_api_rep_update(pm_req *q)
{
    pm_op_ctx c;
    pm_op_outcome o;
    rep_input in;
    long long client_id;
    int rc;

    if ((rc = read_rep_input(q, &in, 1)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_rep_update(&c, q->ids[0], &in, &client_id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "update", o);
    }
    return pm_api_send_client_of(q, client_id, HTTP_OK);
}

int pm_api_rep_invite(pm_req *q)
{
    return pm_api_invite_with(q, pm_op_rep_invite, answers);
}

int pm_api_rep_remove(pm_req *q)
{
    pm_op_ctx c;
    pm_op_outcome o;
    long long client_id;
    int rc;

    if ((rc = pm_http_check_fields(q, no_fields)) != PM_NEXT) {
        return rc;
    }
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_rep_remove(&c, q->ids[0], &client_id)) != PM_OP_OK) {
        return pm_api_send_outcome(q, answers, "remove", o);
    }
    return pm_api_send_client_of(q, client_id, HTTP_OK);
}
