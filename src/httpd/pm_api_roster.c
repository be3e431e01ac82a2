/* pm_api_roster.c — PUT /admin/roster, the roster sync for EHR integrations: a FHIR
 * Bundle or the CSV, read whole within PortalMaxBodySize before the transaction opens,
 * applied by pm_roster_apply in one transaction (all or nothing), audited as the
 * staff member who sent it. Never logs a row's values. */
#include "pm_api.h"
#include "pm_charset.h"
#include "pm_roster.h"
#include "pm_outbox_wake.h"
#include "pm_store.h"

#include "http_protocol.h"
#include "apr_lib.h"

APLOG_USE_MODULE(portal_manager);

#define DISCHARGED_IDS_MAX 50   /* chart numbers an answer lists */
#define TURN_WAIT_MS 3000       /* PostgreSQL: for another sync to end, then 409 */

typedef struct {
    pm_roster_options o;
    int dry_run;
    const char *charset;    /* a CSV body's character set when it is not UTF-8 */
} roster_request;

/* "1" or "0", "true" or "false" (absent: 0); anything else 400. */
static int read_flag(pm_req *q, apr_table_t *args, const char *name, int *out)
{
    const char *v = apr_table_get(args, name);
    int yes = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);

    *out = yes;
    if (v && !yes && strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
        return pm_http_bad_parameter(q, name, apr_psprintf(q->r->pool, "%s must be 1 or 0 "
                                                           "(or true or false).", name));
    }
    return PM_NEXT;
}

static const char *const roster_keys[] = {
    "dry_run", "discharge_missing", "allow_mass_discharge", "identifier_system", "skip_invalid",
    NULL
};

static int parse_roster_query(pm_req *q, roster_request *rr)
{
    apr_table_t *args;
    int rc;

    if ((rc = pm_http_read_query(q, roster_keys, &args)) != PM_NEXT) {
        return rc;
    }
    if ((rc = read_flag(q, args, "dry_run", &rr->dry_run)) != PM_NEXT
        || (rc = read_flag(q, args, "discharge_missing", &rr->o.discharge_missing)) != PM_NEXT
        || (rc = read_flag(q, args, "allow_mass_discharge", &rr->o.allow_mass_discharge))
           != PM_NEXT
        || (rc = read_flag(q, args, "skip_invalid", &rr->o.skip_invalid)) != PM_NEXT) {
        return rc;
    }
    if (rr->o.allow_mass_discharge && !rr->o.discharge_missing) {
        return pm_http_bad_parameter(q, "allow_mass_discharge",
                                     "allow_mass_discharge goes with discharge_missing=1.");
    }
    rr->o.allow_mass_name = "allow_mass_discharge=1";
    rr->o.identifier_system = apr_table_get(args, "identifier_system");
    if (rr->o.identifier_system && *rr->o.identifier_system == '\0') {
        return pm_http_bad_parameter(q, "identifier_system",
                                     "identifier_system must name a system (a URI).");
    }
    return PM_NEXT;
}

/* A charset that is not UTF-8: none for a FHIR Bundle (JSON is UTF-8), one ICU
 * knows for CSV (a spreadsheet's windows-1252), kept in rr->charset. */
static int read_charset(pm_req *q, roster_request *rr, const char *cs)
{
    if (cs == NULL || pm_charset_is_utf8(cs)) {
        return PM_NEXT;
    }
    if (rr->o.format == PM_ROSTER_CSV && pm_charset_known(cs)) {
        rr->charset = cs;
        return PM_NEXT;
    }
    return pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_charset",
                              rr->o.format == PM_ROSTER_CSV
                              ? "The CSV's charset is not one the server knows (a spreadsheet "
                                "saved on Windows: charset=windows-1252; best: UTF-8)."
                              : "A FHIR Bundle is JSON, which is UTF-8: send it as UTF-8.",
                              NULL);
}

/* The Content-Type is the media type `type` (whatever its parameters say). */
static int media_type_is(pm_req *q, const char *ct, const char *type)
{
    return pm_http_media_type(q->r->pool, ct, type, NULL);
}

/* What an export tool may send that the sync cannot read, said plainly: a
 * compressed body (which would otherwise read as broken JSON or CSV) and FHIR
 * Bulk Data's NDJSON. */
static int refuse_unreadable(pm_req *q, const char *ct)
{
    int rc = pm_http_check_identity_encoding(q, "The roster must be sent uncompressed (no "
                                             "Content-Encoding). A roster too large for that "
                                             "is synced on the server with "
                                             "portal-manager-admin clients sync.");

    if (rc != PM_NEXT) {
        return rc;
    }
    if (media_type_is(q, ct, "application/fhir+ndjson") || media_type_is(q, ct, "application/ndjson")
        || media_type_is(q, ct, "application/x-ndjson")) {
        return pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                  "NDJSON (a FHIR Bulk Data export) is not read: send the "
                                  "Patient resources as one Bundle (Content-Type: "
                                  "application/fhir+json; jq -s '{resourceType:\"Bundle\","
                                  "type:\"collection\",entry:map({resource:.})}' Patient.ndjson "
                                  "> bundle.json makes one), or CSV.", NULL);
    }
    return PM_NEXT;
}

static int read_format(pm_req *q, roster_request *rr)
{
    apr_pool_t *p = q->r->pool;
    const char *ct = apr_table_get(q->r->headers_in, "Content-Type"), *cs;
    int rc = refuse_unreadable(q, ct);

    if (rc != PM_NEXT) {
        return rc;
    }
    /* application/json too: what many FHIR servers label their Bundles */
    if (pm_http_media_type(p, ct, "application/fhir+json", &cs)
        || pm_http_media_type(p, ct, "application/json", &cs)) {
        rr->o.format = PM_ROSTER_FHIR;
        return read_charset(q, rr, cs);
    }
    if (pm_http_media_type(p, ct, "text/csv", &cs)) {
        rr->o.format = PM_ROSTER_CSV;
        if (rr->o.identifier_system) {
            return pm_http_bad_parameter(q, "identifier_system",
                                         "identifier_system applies to a FHIR Bundle only.");
        }
        return read_charset(q, rr, cs);
    }
    return pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              "The roster must be a FHIR Bundle (Content-Type: "
                              "application/fhir+json or application/json) or CSV "
                              "(Content-Type: text/csv).", NULL);
}

/* notes (an OperationOutcome's issues, as strings) and the entries ignored */
static void set_notes(json_t *doc, const pm_roster_result *res)
{
    json_t *list = json_array();
    int i;

    for (i = 0; res->notes && i < res->notes->nelts; i++) {
        json_array_append_new(list, json_string(APR_ARRAY_IDX(res->notes, i, const char *)));
    }
    json_object_set_new(doc, "notes", list);
    pm_json_set_int(doc, "ignored", res->ignored);
}

static void set_counts(json_t *doc, const pm_roster_result *res)
{
    pm_json_set_int(doc, "added", res->added);
    pm_json_set_int(doc, "updated", res->updated);
    pm_json_set_int(doc, "unchanged", res->unchanged);
    pm_json_set_int(doc, "discharged", res->discharged);
    pm_json_set_int(doc, "skipped", res->skipped);
    pm_json_set_int(doc, "merged_away", res->merged_away);
}

/* The chart numbers discharged (or that a dry run would discharge), the first
 * DISCHARGED_IDS_MAX of them: `discharged` says how many there are in all. */
static json_t *discharged_json(const pm_roster_result *res)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < res->discharged_ids->nelts && i < DISCHARGED_IDS_MAX; i++) {
        json_array_append_new(list, json_string(APR_ARRAY_IDX(res->discharged_ids, i,
                                                               const char *)));
    }
    return list;
}

/* Each problem as {line|index, field, message}; the document itself has neither. */
static json_t *errors_json(const roster_request *rr, const apr_array_header_t *errors)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < errors->nelts; i++) {
        const pm_roster_error *e = &APR_ARRAY_IDX(errors, i, pm_roster_error);
        json_t *j = json_object();

        if (e->where >= 0) {
            pm_json_set_int(j, rr->o.format == PM_ROSTER_CSV ? "line" : "index", e->where);
        }
        pm_json_set_str(j, "field", e->field);
        pm_json_set_str(j, "message", e->message);
        json_array_append_new(list, j);
    }
    return list;
}

/* 422 roster_invalid: every problem, zero counts, nothing applied. */
static int refuse_roster(pm_req *q, const roster_request *rr, const pm_roster_result *res)
{
    json_t *extra = pm_json_object(q->r->pool);
    pm_roster_result none;

    memset(&none, 0, sizeof(none));
    set_counts(extra, &none);
    set_notes(extra, res);
    json_object_set_new(extra, "errors", errors_json(rr, res->errors));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00231)
                  "roster refused: %d problem(s), nothing applied (request %s)",
                  res->errors->nelts, q->request_id);
    return pm_http_send_error_with(q, HTTP_UNPROCESSABLE_ENTITY, "roster_invalid",
                                   apr_psprintf(q->r->pool, "The roster has %d problem%s; "
                                                "nothing was changed.", res->errors->nelts,
                                                res->errors->nelts == 1 ? "" : "s"),
                                   NULL, extra);
}

/* The options the settings give: the collation locale of new clients' keys, their
 * language when the file gives none, and whether a discharge disables portal
 * accounts. */
static int load_roster_settings(pm_req *q, roster_request *rr)
{
    pm_settings st;
    int rc;

    if ((rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    if (pm_roster_disables_accounts(q->db, &rr->o.disable_accounts) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    rr->o.locale = st.collation_locale;
    rr->o.language = st.default_language;
    rr->o.actor = q->staff->username;
    rr->o.remote_ip = q->r->useragent_ip;
    rr->o.request_id = q->request_id;
    rr->o.now = pm_now_sec(q->r);
    rr->o.turn_wait_ms = TURN_WAIT_MS;
    return PM_NEXT;
}

/* One transaction (SQLite: pm_db_begin takes the writer gate): committed only
 * when every entry was good (or, with skip_invalid, the roster as a whole could be
 * read: the bad entries are left out and listed) and this is not a dry run. */
static int apply_roster(pm_req *q, roster_request *rr, pm_http_body *body)
{
    pm_roster_result res;
    pm_charset_reader *converted = NULL;
    apr_status_t rv;
    json_t *doc;

    if (rr->charset
        && (converted = pm_charset_reader_make(q->r->pool, rr->charset, pm_http_body_read,
                                               body)) == NULL) {
        return pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_charset",
                                  "The CSV's charset could not be read.", NULL);
    }
    if (pm_db_begin(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    rv = converted ? pm_roster_apply(q->db, q->r->pool, &rr->o, pm_charset_read, converted, &res)
                   : pm_roster_apply(q->db, q->r->pool, &rr->o, pm_http_body_read, body, &res);
    if (rv == APR_EBUSY) {
        pm_db_rollback(q->db);
        return pm_http_conflict(q, "roster_busy", "Another roster sync is running; send this "
                                "one again when it has finished.");
    }
    if (rv != APR_SUCCESS) {
        pm_db_rollback(q->db);
        return rv == PM_CHARSET_IS_UTF8
               ? pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_charset",
                                    apr_psprintf(q->r->pool, "The CSV is UTF-8 already, not %s: "
                                                 "send it as text/csv; charset=utf-8. Nothing "
                                                 "was changed.", rr->charset), NULL)
               : pm_http_db_unavailable(q);
    }
    if (!pm_roster_may_commit(&rr->o, &res)) {
        pm_db_rollback(q->db);
        return refuse_roster(q, rr, &res);
    }
    if (rr->dry_run) {
        pm_db_rollback(q->db);
    }
    else if (pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    else if (res.address_notices > 0) {       /* notices of email changes: out at once */
        pm_outbox_wake();
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00232)
                  "roster %s by %s: %" APR_OFF_T_FMT " bytes, added %d, updated %d, "
                  "unchanged %d, discharged %d, skipped %d, %d problem(s) (request %s)",
                  rr->dry_run ? "dry run" : "applied", q->staff->username,
                  pm_http_body_length(body), res.added, res.updated, res.unchanged,
                  res.discharged, res.skipped, res.errors->nelts, q->request_id);
    doc = pm_json_object(q->r->pool);
    set_counts(doc, &res);
    json_object_set_new(doc, "discharged_ids", discharged_json(&res));
    /* old addresses told of their change (a dry run: that would be) */
    pm_json_set_int(doc, "address_notices", res.address_notices);
    pm_json_set_bool(doc, "dry_run", rr->dry_run);
    set_notes(doc, &res);
    json_object_set_new(doc, "errors", errors_json(rr, res.errors));
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* The sync reads and changes every client (its answer names clients by chart number,
 * its refusals name look-alikes): a champion or integration account whose staff row
 * may view only a caseload gets 403 roster_needs_all_clients, before the body is read. */
static int refuse_caseload_staff(pm_req *q)
{
    if (q->staff->all_clients) {
        return PM_NEXT;
    }
    return pm_http_send_error(q, HTTP_FORBIDDEN, "roster_needs_all_clients",
                              "The roster sync reads and changes every client: it needs a "
                              "staff member who may view all clients (portal-manager-admin "
                              "staff update USER --all-clients)", NULL);
}

/* PUT /admin/roster[?dry_run=1][&discharge_missing=1[&allow_mass_discharge=1]]
 *                  [&identifier_system=URI][&skip_invalid=1] */
int pm_api_admin_roster_put(pm_req *q)
{
    roster_request rr;
    pm_http_body *body;
    int rc;

    memset(&rr, 0, sizeof(rr));
    if ((rc = refuse_caseload_staff(q)) != PM_NEXT
        || (rc = parse_roster_query(q, &rr)) != PM_NEXT
        || (rc = read_format(q, &rr)) != PM_NEXT
        || (rc = pm_http_read_raw_body(q, &body)) != PM_NEXT
        || (rc = load_roster_settings(q, &rr)) != PM_NEXT) {
        return rc;
    }
    return apply_roster(q, &rr, body);
}
