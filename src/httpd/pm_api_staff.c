/* pm_api_staff.c — the staff API handler (SetHandler portal-manager): deny by
 * default, the common prelude every route runs (CSRF, body, database, staff
 * lookup, and staff.last_seen_at once a day), the routing table, GET /me and the
 * caller's own PUT /me/preferences;
 * GET /health alone needs no user. */
#include "pm_api.h"
#include "pm_notices.h"
#include "pm_locale.h"
#include "pm_log_throttle.h"
#include "pm_monitor.h"
#include "pm_op.h"
#include "pm_reviews.h"
#include "pm_route.h"
#include "pm_scopes.h"
#include "pm_settings_def.h"
#include "pm_store.h"

#include "http_protocol.h"
#include "http_request.h"

APLOG_USE_MODULE(portal_manager);


/* Apache authenticated this active staff member: when the row just read says they
 * were last seen more than a day ago (or never), record now — one UPDATE a day per
 * person; every other request writes nothing. The staff notices go only to staff
 * seen within staff_notice_max_idle_days (pm_notices.c). A failed write is logged by
 * the store and costs the request nothing. */
static void note_seen(pm_req *q, const pm_row *row)
{
    long long now = pm_now_sec(q->r);

    if (pm_row_str(row, STAFF_LAST_SEEN_AT) != NULL
        && pm_row_int(row, STAFF_LAST_SEEN_AT, 0) > now - PM_STAFF_SEEN_EVERY) {
        return;
    }
    pm_db_exec(q->db, PM_SQL_STAFF_SEEN, NULL, pm_arg_int(q->r->pool, now), q->r->user,
               pm_arg_int(q->r->pool, now - PM_STAFF_SEEN_EVERY));
}

/* Loads the active staff row for r->user; 403 not_staff when there is none. */
static int load_staff(pm_req *q)
{
    apr_array_header_t *rows;
    const pm_row *row;
    pm_staff *staff;

    if (pm_db_select(q->db, PM_SQL_STAFF_GET, &rows, q->r->user) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    row = rows->nelts ? &APR_ARRAY_IDX(rows, 0, pm_row) : NULL;
    if (row == NULL || pm_row_int(row, STAFF_ACTIVE, 0) != 1) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00030)
                      "user %s is not active staff", q->r->user);
        return pm_http_send_error(q, HTTP_FORBIDDEN, "not_staff",
                                  PM_NOT_STAFF_MESSAGE, NULL);
    }
    staff = apr_pcalloc(q->r->pool, sizeof(*staff));
    staff->username = pm_row_str(row, STAFF_USERNAME);
    staff->display_name = pm_row_str(row, STAFF_DISPLAY_NAME)
                          ? pm_row_str(row, STAFF_DISPLAY_NAME) : "";
    staff->all_clients = pm_row_int(row, STAFF_ALL_CLIENTS, 0) == 1;
    staff->email = pm_row_str(row, STAFF_EMAIL);
    staff->notify = pm_row_str(row, STAFF_NOTIFY) ? pm_row_str(row, STAFF_NOTIFY) : "daily";
    q->staff = staff;
    note_seen(q, row);
    return PM_NEXT;
}

static int is_admin_route(const char *path)
{
    return strncmp(path, "/admin", 6) == 0 && (path[6] == '/' || path[6] == '\0');
}

/* PUT /admin/roster reads its own body (FHIR or CSV, pm_api_roster.c). */
static int takes_raw_body(const pm_req *q)
{
    return strcmp(q->path, "/admin/roster") == 0;
}

/* Runs after a route matched and before its handler. */
static int staff_prelude(pm_req *q)
{
    int rc;

    if ((rc = pm_http_check_csrf(q)) != PM_NEXT) {
        return rc;
    }
    if (is_admin_route(q->path) && !pm_route_admin_allowed(q)) {
        return pm_http_send_error(q, HTTP_FORBIDDEN, "admin_not_configured",
                                  "The portal settings are not available at this address. Ask "
                                  "your administrator.", NULL);
    }
    if (!takes_raw_body(q) && (rc = pm_http_read_json_body(q)) != PM_NEXT) {
        return rc;
    }
    q->db = pm_db_acquire(q->r);
    if (q->db == NULL) {
        return pm_http_db_unavailable(q);
    }
    return load_staff(q);
}

#define ADMIN_PROBE_NOTE "portal_manager-admin-probe"

/* Would Apache let this user PUT the admin settings? Asked with a sub-request so
 * that whatever Require the admin wrote for /admin decides. */
static int may_administer(pm_req *q)
{
    request_rec *r = q->r;
    apr_size_t base_len = strlen(r->uri) - strlen(q->path);
    const char *uri = apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, r->uri, base_len),
                                  "/admin/settings", NULL);
    request_rec *rr;
    int allowed;

    if (!pm_route_admin_covered(q)) {
        return 0;
    }
    apr_table_setn(r->notes, ADMIN_PROBE_NOTE, "1");
    rr = ap_sub_req_method_uri("PUT", uri, r, NULL);
    apr_table_unset(r->notes, ADMIN_PROBE_NOTE);
    allowed = rr->status == HTTP_OK;
    ap_destroy_sub_req(rr);
    return allowed;
}

/* post_perdir_config, between a request's Location and its authorization: the
 * sub-request of may_administer() only asks a question, so its "no" must not be
 * logged as an authorization failure (mod_authz_core's AH01631 at error, once for
 * every page a colleague who is not a champion opens). Its log settings are the
 * Location's with mod_authz_core quiet below crit. */
int pm_api_quiet_admin_probe(request_rec *r)
{
    module *authz;
    struct ap_logconf *quiet;

    if (r->main == NULL || apr_table_get(r->main->notes, ADMIN_PROBE_NOTE) == NULL
        || (authz = ap_find_linked_module("mod_authz_core.c")) == NULL) {
        return OK;
    }
    quiet = ap_new_log_config(r->pool, r->log ? r->log : &r->server->log);
    ap_set_module_loglevel(r->pool, quiet, authz->module_index, APLOG_CRIT);
    r->log = quiet;
    return OK;
}

/* The scopes a representative may be given: those whose module is on. */
static int set_enabled_scopes(pm_req *q, json_t *me)
{
    const char *text;
    json_t *modules;

    if (pm_setting_stored(q->db, "modules", &text) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    modules = text ? json_loads(text, 0, NULL) : NULL;
    json_object_set_new(me, "representative_scopes",
                        pm_scopes_json(pm_scopes_default(q->r->pool, modules)));
    json_decref(modules);
    return PM_NEXT;
}

/* The user, and the settings the staff page needs to offer only what the API
 * would allow: representatives turned on, the scopes they may be given, and how
 * often an invitation may be sent. */
static int get_me(pm_req *q)
{
    json_t *me = pm_json_object(q->r->pool);
    pm_settings st;
    char zone[128];
    int rc;

    if ((rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = set_enabled_scopes(q, me)) != PM_NEXT) {
        return rc;
    }
    pm_json_set_bool(me, "representatives_enabled", st.representatives_enabled);
    pm_json_set_int(me, "max_sends_per_invitation", st.max_sends_per_invitation);
    /* the language of a recipient without one of their own, which the page names */
    pm_json_set_str(me, "default_language", st.default_language);
    /* the pages show times on the practice's clock, not the browser's */
    pm_json_set_str(me, "time_zone", pm_time_zone_name(st.time_zone, zone, sizeof(zone)));

    pm_json_set_str(me, "username", q->staff->username);
    pm_json_set_str(me, "display_name", q->staff->display_name);
    pm_json_set_bool(me, "admin", may_administer(q));
    /* the caller's own notices: the address the administrator set (or null), how often */
    pm_json_set_str(me, "email", q->staff->email);
    pm_json_set_str(me, "notify", q->staff->notify);
    return pm_http_send_json(q, HTTP_OK, me);
}

static const char *const preference_fields[] = { "notify", NULL };

static const pm_api_answer preference_answers[] = {
    { PM_OP_NOT_STAFF, NULL, HTTP_FORBIDDEN, "not_staff",
      PM_NOT_STAFF_MESSAGE, NULL },
    { PM_OP_OK, NULL, 0, NULL, NULL, NULL }
};

static int notify_valid(const json_t *value)
{
    const char *v = json_is_string(value) ? json_string_value(value) : "";

    return strcmp(v, "none") == 0 || strcmp(v, "immediate") == 0 || strcmp(v, "daily") == 0;
}

/* PUT /me/preferences {"notify": "none"|"immediate"|"daily"}: the caller's own
 * notices about their clients; answers the preferences as stored. */
static int put_preferences(pm_req *q)
{
    json_t *value = pm_http_body_field(q, "notify"), *out;
    const char *notify;
    pm_op_outcome o;
    pm_op_ctx c;
    int rc;

    if ((rc = pm_http_check_fields(q, preference_fields)) != PM_NEXT) {
        return rc;
    }
    if (!notify_valid(value)) {
        return pm_http_unprocessable(q, "invalid_notify",
                                     "notify must be \"none\", \"immediate\" or \"daily\".",
                                     "notify");
    }
    notify = json_string_value(value);
    pm_op_ctx_init(&c, q);
    if ((o = pm_op_staff_set_notify(&c, notify)) != PM_OP_OK) {
        return pm_api_send_outcome(q, preference_answers, "staff.preferences", o);
    }
    out = pm_json_object(q->r->pool);
    pm_json_set_str(out, "notify", notify);
    return pm_http_send_json(q, HTTP_OK, out);
}

static const pm_route staff_routes[] = {
    { "GET", "/me", get_me },
    { "PUT", "/me/preferences", put_preferences },
    { "GET", "/clients", pm_api_clients_list, PM_ROUTE_QUERY },
    { "POST", "/clients/search", pm_api_clients_search },
    { "GET", "/clients/{id}", pm_api_client_view },
    { "GET", "/clients/{id}/status", pm_api_client_status },
    { "PUT", "/clients/{id}/email", pm_api_client_set_email },
    { "POST", "/clients/{id}/declined", pm_api_client_set_declined },
    { "DELETE", "/clients/{id}/declined", pm_api_client_clear_declined },
    { "PUT", "/clients/{id}/preferences", pm_api_client_set_preferences },
    { "GET", "/clients/{id}/audit", pm_api_client_audit, PM_ROUTE_QUERY },
    { "GET", "/clients/{id}/emails", pm_api_client_emails, PM_ROUTE_QUERY },
    { "POST", "/clients/{id}/invitations", pm_api_client_invite },
    { "POST", "/invitations/bulk", pm_api_invitations_bulk },
    { "POST", "/invitations/{id}/resend", pm_api_invitation_resend },
    { "POST", "/invitations/{id}/revoke", pm_api_invitation_revoke },
    { "POST", "/clients/{id}/representatives", pm_api_rep_create },
    { "PUT", "/representatives/{id}", pm_api_rep_update },
    { "DELETE", "/representatives/{id}", pm_api_rep_remove },
    { "POST", "/representatives/{id}/invitations", pm_api_rep_invite },
    { "POST", "/accounts/{id}/disable", pm_api_account_disable },
    { "POST", "/accounts/{id}/enable", pm_api_account_enable },
    { "POST", "/accounts/{id}/password-reset", pm_api_account_password_reset },
    { "GET", "/reviews", pm_api_reviews_list },
    { "POST", "/grants/{id}/review", pm_api_grant_review },
    { "GET", "/admin/settings", pm_api_admin_settings_get, PM_ROUTE_QUERY },
    { "PUT", "/admin/settings", pm_api_admin_settings_put },
    { "POST", "/admin/settings/preview", pm_api_admin_preview },
    { "POST", "/admin/settings/test-email", pm_api_admin_test_email },
    { "GET", "/admin/outbox", pm_api_admin_outbox, PM_ROUTE_QUERY },
    { "POST", "/admin/outbox/{id}/retry", pm_api_admin_outbox_retry },
    { "POST", "/admin/outbox/{id}/cancel", pm_api_admin_outbox_cancel },
    { "GET", "/admin/audit", pm_api_admin_audit, PM_ROUTE_QUERY },
    { "GET", "/admin/overview", pm_api_admin_overview, PM_ROUTE_QUERY },
    { "PUT", "/admin/roster", pm_api_admin_roster_put, PM_ROUTE_QUERY },
    { NULL, NULL, NULL, 0 }
};

/* Routes anyone may call: the load balancer's health check (it says only ok or not). */
static const pm_route public_routes[] = {
    { "GET", "/health", pm_monitor_health },
    { NULL, NULL, NULL, 0 }
};

/* A Location left open, or anyone's request under one (/health/anything): said at
 * most once a minute per child, so that no one can flood the log with false alarms. */
static pm_log_throttle no_user;

static void log_no_user(request_rec *r)
{
    apr_uint32_t more;
    int level = pm_log_throttled_level(&no_user, &more) == APLOG_ERR ? APLOG_WARNING
                                                                      : APLOG_DEBUG;

    ap_log_rerror(APLOG_MARK, level, 0, r, PM_LOGNO(00031)
                  "no authenticated user: protect this Location with Apache "
                  "authentication (Require valid-user) (%u more since the last such line)",
                  more);
}

int pm_api_staff_handler(request_rec *r)
{
    pm_req *q;
    int rc;

    if (r->handler == NULL || strcmp(r->handler, "portal-manager") != 0) {
        return DECLINED;
    }
    q = pm_http_begin(r);
    if ((rc = pm_route_try(q, public_routes, NULL)) != DECLINED) {
        return rc;
    }
    if (r->user == NULL || *r->user == '\0') {
        log_no_user(r);
        return pm_http_send_error(q, HTTP_FORBIDDEN, "not_authenticated",
                                  "You need to sign in to use the Client Portal Manager.", NULL);
    }
    return pm_route_dispatch(q, staff_routes, staff_prelude);
}
