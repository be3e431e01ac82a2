/* pm_monitor.c — the monitoring views over pm_metrics' counters and two cheap
 * COUNT queries (the outbox and invitations, read when asked: the database is
 * the one truth for a queue every child writes, and an index count per scrape
 * costs less than keeping shared copies right): the mod_status section, the
 * Prometheus page and the health check. No label or line carries client data. */
#include "pm_monitor.h"
#include "pm_metrics.h"
#include "pm_store.h"

#include "http_protocol.h"
#include "mod_status.h"

APLOG_USE_MODULE(portal_manager);

typedef struct {
    int db_ok;
    apr_int64_t queued, retrying, failed, oldest_due_age;
} outbox_figures;

static const char *const invitation_states[] = {
    "pending", "accepted", "declined", "revoked", "superseded", "locked", NULL
};

static void read_outbox(request_rec *r, pm_db *db, outbox_figures *f)
{
    apr_array_header_t *rows;
    const pm_row *row;
    long long now = pm_now_sec(NULL), oldest;

    memset(f, 0, sizeof(*f));
    if (db == NULL || pm_db_select(db, PM_SQL_MONITOR_OUTBOX, &rows) != APR_SUCCESS
        || rows->nelts != 1) {
        return;
    }
    row = &APR_ARRAY_IDX(rows, 0, pm_row);
    f->db_ok = 1;
    f->queued = pm_row_int(row, MON_QUEUED, 0);
    f->retrying = pm_row_int(row, MON_RETRYING, 0);
    f->failed = pm_row_int(row, MON_FAILED, 0);
    oldest = pm_row_int(row, MON_OLDEST_DUE, now);
    f->oldest_due_age = oldest < now ? now - oldest : 0;
}

static int interval_ms(server_rec *s)
{
    pm_server_conf *conf = pm_server_config(s);

    return conf->outbox_interval_ms != PM_UNSET ? conf->outbox_interval_ms
                                                : PM_DEFAULT_OUTBOX_INTERVAL;
}

/* Stalled: no pass finished and no email handled for 5 intervals, plus the
 * longest one email may take (a slow relay is busy, not stalled). */
static int worker_stalled(server_rec *s, const pm_metrics_view *v)
{
    pm_server_conf *conf = pm_server_config(s);
    int timeout = conf->mail_timeout != PM_UNSET ? conf->mail_timeout : PM_DEFAULT_MAIL_TIMEOUT;
    apr_time_t last = v->last_pass > v->last_progress ? v->last_pass : v->last_progress;
    apr_time_t allowed = apr_time_from_msec(5 * (apr_int64_t)interval_ms(s))
                         + apr_time_from_sec(timeout);

    return apr_time_now() - last > allowed;
}

static double seconds_ago(apr_time_t t)
{
    return t ? (double)(apr_time_now() - t) / APR_USEC_PER_SEC : -1;
}

/* ---- mod_status --------------------------------------------------------------------- */

static void status_auto(request_rec *r, const outbox_figures *f, const pm_metrics_view *v)
{
    ap_rprintf(r, "PortalDatabase: %s\n", f->db_ok ? "ok" : "unavailable");
    ap_rprintf(r, "PortalOutboxQueued: %" APR_INT64_T_FMT "\nPortalOutboxRetrying: %" APR_INT64_T_FMT "\n"
               "PortalOutboxFailed: %" APR_INT64_T_FMT "\nPortalOutboxOldestDueAge: %" APR_INT64_T_FMT "\n",
               f->queued, f->retrying, f->failed, f->oldest_due_age);
    ap_rprintf(r, "PortalWorkerLastPassAge: %.1f\nPortalWorkerStalled: %d\n",
               seconds_ago(v->last_pass), worker_stalled(r->server, v));
    ap_rprintf(r, "PortalWorkerLastError: %s\nPortalMailConfigError: %s\n",
               v->last_error[0] ? v->last_error : "none",
               v->mail_config_error[0] ? v->mail_config_error : "none");
    ap_rprintf(r, "PortalDeliveriesSent: %" APR_UINT64_T_FMT "\n"
               "PortalDeliveriesRetried: %" APR_UINT64_T_FMT "\n"
               "PortalDeliveriesFailed: %" APR_UINT64_T_FMT "\n", v->sent, v->retried, v->failed);
}

static void status_html(request_rec *r, const outbox_figures *f, const pm_metrics_view *v)
{
    ap_rputs("<hr />\n<h2>Client Portal Manager</h2>\n<dl>\n", r);
    ap_rprintf(r, "<dt>Database: %s</dt>\n", f->db_ok ? "ok" : "<b>unavailable</b>");
    ap_rprintf(r, "<dt>Outbox: %" APR_INT64_T_FMT " queued, %" APR_INT64_T_FMT " retrying, %" APR_INT64_T_FMT " failed; oldest due email "
               "waiting %" APR_INT64_T_FMT " s</dt>\n", f->queued, f->retrying, f->failed, f->oldest_due_age);
    ap_rprintf(r, "<dt>Delivery worker: last pass %.1f s ago%s</dt>\n",
               seconds_ago(v->last_pass), worker_stalled(r->server, v) ? " (<b>stalled</b>)" : "");
    ap_rprintf(r, "<dt>Since start: %" APR_UINT64_T_FMT " sent, %" APR_UINT64_T_FMT
               " attempts to retry, %" APR_UINT64_T_FMT " failed</dt>\n",
               v->sent, v->retried, v->failed);
    ap_rprintf(r, "<dt>Last delivery error: %s</dt>\n",
               v->last_error[0] ? ap_escape_html(r->pool, v->last_error) : "none");
    if (v->mail_config_error[0]) {
        ap_rprintf(r, "<dt><b>Mail configuration error (queue held until a restart "
                   "with a fixed configuration): %s</b></dt>\n",
                   ap_escape_html(r->pool, v->mail_config_error));
    }
    ap_rputs("</dl>\n", r);
}

int pm_monitor_status_section(request_rec *r, int flags)
{
    outbox_figures f;
    pm_metrics_view v;
    pm_db *db = pm_db_acquire(r);

    read_outbox(r, db, &f);
    pm_metrics_read(&v);
    if (flags & AP_STATUS_SHORT) {
        status_auto(r, &f, &v);
    }
    else {
        status_html(r, &f, &v);
    }
    return OK;
}

/* ---- Prometheus ----------------------------------------------------------------------- */

static void family(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_outbox(request_rec *r, const outbox_figures *f, const pm_metrics_view *v)
{
    family(r, "portal_manager_database_up", "gauge", "1 when the database answered this scrape.");
    ap_rprintf(r, "portal_manager_database_up %d\n", f->db_ok);
    family(r, "portal_manager_outbox_emails", "gauge", "Emails in the outbox by state.");
    ap_rprintf(r, "portal_manager_outbox_emails{state=\"queued\"} %" APR_INT64_T_FMT "\n"
               "portal_manager_outbox_emails{state=\"retrying\"} %" APR_INT64_T_FMT "\n"
               "portal_manager_outbox_emails{state=\"failed\"} %" APR_INT64_T_FMT "\n",
               f->queued, f->retrying, f->failed);
    family(r, "portal_manager_outbox_oldest_due_age_seconds", "gauge",
           "How long the oldest due email has been waiting.");
    ap_rprintf(r, "portal_manager_outbox_oldest_due_age_seconds %" APR_INT64_T_FMT "\n", f->oldest_due_age);
    family(r, "portal_manager_worker_last_pass_timestamp_seconds", "gauge",
           "When the delivery worker last completed a pass.");
    ap_rprintf(r, "portal_manager_worker_last_pass_timestamp_seconds %.3f\n",
               (double)v->last_pass / APR_USEC_PER_SEC);
    family(r, "portal_manager_worker_passes_total", "counter", "Completed worker passes.");
    ap_rprintf(r, "portal_manager_worker_passes_total %" APR_UINT64_T_FMT "\n", v->passes);
    family(r, "portal_manager_worker_last_error_timestamp_seconds", "gauge",
           "When a delivery last failed (0: not since start).");
    ap_rprintf(r, "portal_manager_worker_last_error_timestamp_seconds %.3f\n",
               (double)v->last_error_at / APR_USEC_PER_SEC);
    family(r, "portal_manager_mail_config_error", "gauge",
           "1 while a certificate or TLS-policy failure holds the queue.");
    ap_rprintf(r, "portal_manager_mail_config_error %d\n", v->mail_config_error[0] != '\0');
    family(r, "portal_manager_deliveries_total", "counter", "Delivery attempts by outcome.");
    ap_rprintf(r, "portal_manager_deliveries_total{outcome=\"sent\"} %" APR_UINT64_T_FMT "\n"
               "portal_manager_deliveries_total{outcome=\"retry\"} %" APR_UINT64_T_FMT "\n"
               "portal_manager_deliveries_total{outcome=\"failed\"} %" APR_UINT64_T_FMT "\n",
               v->sent, v->retried, v->failed);
}

static void metrics_invitations(request_rec *r, pm_db *db)
{
    apr_array_header_t *rows = NULL;
    int i, j;

    if (db == NULL || pm_db_select(db, PM_SQL_MONITOR_INVITATIONS, &rows) != APR_SUCCESS) {
        return;
    }
    family(r, "portal_manager_invitations", "gauge", "Invitations by status.");
    for (i = 0; invitation_states[i]; i++) {
        apr_int64_t n = 0;
        for (j = 0; j < rows->nelts; j++) {
            const pm_row *row = &APR_ARRAY_IDX(rows, j, pm_row);
            const char *st = pm_row_str(row, MON_INV_STATUS);
            if (st && strcmp(st, invitation_states[i]) == 0) {
                n = pm_row_int(row, MON_INV_ROWS, 0);
            }
        }
        ap_rprintf(r, "portal_manager_invitations{status=\"%s\"} %" APR_INT64_T_FMT "\n", invitation_states[i], n);
    }
}

static void metrics_requests(request_rec *r, const pm_metrics_view *v)
{
    int g, i;

    family(r, "portal_manager_api_requests_total", "counter",
           "API requests by route group and status class.");
    for (g = 0; g < PM_GROUP_COUNT; g++) {
        for (i = 0; i < PM_STATUS_CLASSES; i++) {
            ap_rprintf(r, "portal_manager_api_requests_total{group=\"%s\",code=\"%dxx\"} %"
                       APR_UINT64_T_FMT "\n", pm_metrics_group_name[g], i + 1, v->requests[g][i]);
        }
    }
    family(r, "portal_manager_api_request_duration_seconds", "histogram",
           "API request durations by route group.");
    for (g = 0; g < PM_GROUP_COUNT; g++) {
        apr_uint64_t cum = 0;
        for (i = 0; i <= PM_DURATION_BUCKETS; i++) {
            cum += v->buckets[g][i];
            if (i < PM_DURATION_BUCKETS) {
                ap_rprintf(r, "portal_manager_api_request_duration_seconds_bucket"
                           "{group=\"%s\",le=\"%g\"} %" APR_UINT64_T_FMT "\n",
                           pm_metrics_group_name[g], pm_metrics_bucket_le[i], cum);
            }
        }
        ap_rprintf(r, "portal_manager_api_request_duration_seconds_bucket"
                   "{group=\"%s\",le=\"+Inf\"} %" APR_UINT64_T_FMT "\n"
                   "portal_manager_api_request_duration_seconds_sum{group=\"%s\"} %.6f\n"
                   "portal_manager_api_request_duration_seconds_count{group=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", pm_metrics_group_name[g], cum,
                   pm_metrics_group_name[g], (double)v->duration_us[g] / APR_USEC_PER_SEC,
                   pm_metrics_group_name[g], cum);
    }
    family(r, "portal_manager_db_acquire_failures_total", "counter",
           "Times a database connection could not be had.");
    ap_rprintf(r, "portal_manager_db_acquire_failures_total %" APR_UINT64_T_FMT "\n",
               v->db_failures);
}

int pm_monitor_metrics_handler(request_rec *r)
{
    outbox_figures f;
    pm_metrics_view v;
    pm_db *db;

    if (r->handler == NULL || strcmp(r->handler, "portal-manager-metrics") != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    db = pm_db_acquire(r);
    read_outbox(r, db, &f);
    pm_metrics_read(&v);
    metrics_outbox(r, &f, &v);
    metrics_invitations(r, db);
    metrics_requests(r, &v);
    return OK;
}

/* ---- health ------------------------------------------------------------------------------- */

static int database_readable(request_rec *r)
{
    pm_db *db = pm_db_acquire(r);
    apr_array_header_t *rows;

    return db != NULL && pm_db_select(db, PM_SQL_MONITOR_PING, &rows) == APR_SUCCESS;
}

int pm_monitor_health(pm_req *q)
{
    pm_metrics_view v;
    json_t *doc = pm_json_object(q->r->pool);
    int ok = database_readable(q->r);

    int writes_failing = ok && pm_metrics_writes_failing();

    if (ok && pm_metrics_read(&v)) {
        ok = !worker_stalled(q->r->server, &v) && v.mail_config_error[0] == '\0'
             && !writes_failing;
    }
    pm_json_set_str(doc, "status", ok ? "ok" : "unavailable");
    if (writes_failing) {                   /* readable, but what it is asked to keep fails */
        pm_json_set_str(doc, "reason", "writes_failing");
    }
    return pm_http_send_json(q, ok ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE, doc);
}
