/* pm_metrics.c — the counters behind the status section, the Prometheus page and
 * the health check: one anonymous shared-memory segment per generation (made in
 * post_config, inherited by the children), 64-bit atomic counters, and two short
 * texts (the worker's last error, a mail configuration error) behind a sequence
 * count so readers never see half a text. Counts start again at each restart. */
#include "pm_metrics.h"

#include "apr_atomic.h"
#include "apr_shm.h"

APLOG_USE_MODULE(portal_manager);

#define NOTE_ROUTE "portal-manager-route"

const double pm_metrics_bucket_le[PM_DURATION_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

const char *const pm_metrics_group_name[PM_GROUP_COUNT] = {
    "me", "clients", "invitations", "representatives", "admin", "recipient", "health", "other"
};

typedef struct {
    volatile apr_uint32_t seq;               /* odd while the worker writes a text */
    volatile apr_uint32_t mail_held;
    volatile apr_uint64_t requests[PM_GROUP_COUNT][PM_STATUS_CLASSES];
    volatile apr_uint64_t buckets[PM_GROUP_COUNT][PM_DURATION_BUCKETS + 1];
    volatile apr_uint64_t duration_us[PM_GROUP_COUNT];
    volatile apr_uint64_t db_failures;
    volatile apr_uint64_t sent, retried, failed, passes;
    volatile apr_uint64_t started, last_pass, last_progress, last_error_at;
    volatile apr_uint32_t writes_failed;     /* audited writes failed in a row */
    volatile apr_uint64_t write_failed_at;   /* the last one's time */
    char last_error[PM_METRICS_TEXT];
    char mail_config_error[PM_METRICS_TEXT];
} metrics_shm;

static metrics_shm *shm;

static apr_status_t metrics_forget(void *unused)
{
    shm = NULL;
    return APR_SUCCESS;
}

int pm_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *seg;
    apr_status_t rv = apr_shm_create(&seg, sizeof(metrics_shm), NULL, pconf);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PM_LOGNO(00310)
                     "mod_portal_manager: no shared memory (%" APR_SIZE_T_FMT " bytes) "
                     "for the metrics", sizeof(metrics_shm));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    shm = apr_shm_baseaddr_get(seg);
    memset(shm, 0, sizeof(*shm));
    shm->started = shm->last_pass = shm->last_progress = (apr_uint64_t)apr_time_now();
    apr_pool_cleanup_register(pconf, NULL, metrics_forget, apr_pool_cleanup_null);
    return OK;
}

/* ---- requests ---------------------------------------------------------------- */

void pm_metrics_note_route(request_rec *r, const char *pattern)
{
    apr_table_setn(r->notes, NOTE_ROUTE, pattern);
}

static pm_route_group group_of(request_rec *r)
{
    static const struct { const char *prefix; pm_route_group g; } groups[] = {
        { "/me", PM_GROUP_ME }, { "/clients", PM_GROUP_CLIENTS },
        { "/invitations", PM_GROUP_INVITATIONS },
        { "/representatives", PM_GROUP_REPRESENTATIVES }, { "/admin", PM_GROUP_ADMIN },
        { "/health", PM_GROUP_HEALTH }, { NULL, PM_GROUP_OTHER }
    };
    const char *pattern = apr_table_get(r->notes, NOTE_ROUTE);
    int i;

    if (strcmp(r->handler, "portal-invitation") == 0) {
        return PM_GROUP_RECIPIENT;
    }
    for (i = 0; pattern && groups[i].prefix; i++) {
        apr_size_t n = strlen(groups[i].prefix);
        if (strncmp(pattern, groups[i].prefix, n) == 0
            && (pattern[n] == '/' || pattern[n] == '\0')) {
            return groups[i].g;
        }
    }
    return PM_GROUP_OTHER;
}

static int bucket_of(double seconds)
{
    int i;

    for (i = 0; i < PM_DURATION_BUCKETS && seconds > pm_metrics_bucket_le[i]; i++) {
    }
    return i;
}

int pm_metrics_log_transaction(request_rec *r)
{
    apr_time_t took;
    pm_route_group g;
    int cls;

    while (r->next) {                         /* the request that answered */
        r = r->next;
    }
    if (shm == NULL || r->handler == NULL || (strcmp(r->handler, "portal-manager") != 0
                                              && strcmp(r->handler, "portal-invitation") != 0)) {
        return DECLINED;
    }
    g = group_of(r);
    cls = r->status / 100 - 1;
    if (cls < 0 || cls >= PM_STATUS_CLASSES) {
        cls = PM_STATUS_CLASSES - 1;
    }
    took = apr_time_now() - r->request_time;
    if (took < 0) {
        took = 0;
    }
    apr_atomic_inc64(&shm->requests[g][cls]);
    apr_atomic_inc64(&shm->buckets[g][bucket_of((double)took / APR_USEC_PER_SEC)]);
    apr_atomic_add64(&shm->duration_us[g], (apr_uint64_t)took);
    return DECLINED;
}

void pm_metrics_db_failure(void)
{
    if (shm) {
        apr_atomic_inc64(&shm->db_failures);
    }
}

/* ---- audited writes (the health check) ------------------------------------------ */

void pm_metrics_write_outcome(request_rec *r, int ok)
{
    if (shm == NULL) {
        return;
    }
    if (ok) {
        if (apr_atomic_read32(&shm->writes_failed) != 0) {
            apr_atomic_set32(&shm->writes_failed, 0);
        }
        return;
    }
    apr_atomic_set64(&shm->write_failed_at, (apr_uint64_t)apr_time_now());
    if (apr_atomic_inc32(&shm->writes_failed) + 1 == PM_WRITES_FAILING_AFTER) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PM_LOGNO(00706)
                      "the last %d audited writes failed and none succeeded since (the "
                      "lines before it say why): the health check answers 503 "
                      "writes_failing until a write succeeds", PM_WRITES_FAILING_AFTER);
    }
}

int pm_metrics_writes_failing(void)
{
    return shm != NULL
           && apr_atomic_read32(&shm->writes_failed) >= PM_WRITES_FAILING_AFTER
           && (apr_time_t)apr_atomic_read64(&shm->write_failed_at)
              > apr_time_now() - PM_WRITES_FAILING_WITHIN;
}

/* ---- the delivery worker ----------------------------------------------------------- */

void pm_metrics_worker_progress(int pass_done)
{
    apr_uint64_t now = (apr_uint64_t)apr_time_now();

    if (shm == NULL) {
        return;
    }
    apr_atomic_set64(&shm->last_progress, now);
    if (pass_done) {
        apr_atomic_set64(&shm->last_pass, now);
        apr_atomic_inc64(&shm->passes);
    }
}

/* one writer (the delivery worker: one per httpd, pm_outbox_wake.c); readers check seq around their copy */
static void write_text(char *field, const char *text)
{
    apr_atomic_inc32(&shm->seq);
    apr_cpystrn(field, text, PM_METRICS_TEXT);
    apr_atomic_inc32(&shm->seq);
}

void pm_metrics_worker_outcome(int sent, int retried, int failed, const char *error)
{
    if (shm == NULL) {
        return;
    }
    apr_atomic_add64(&shm->sent, (apr_uint64_t)sent);
    apr_atomic_add64(&shm->retried, (apr_uint64_t)retried);
    apr_atomic_add64(&shm->failed, (apr_uint64_t)failed);
    if (error) {
        write_text(shm->last_error, error);
        apr_atomic_set64(&shm->last_error_at, (apr_uint64_t)apr_time_now());
    }
    apr_atomic_set64(&shm->last_progress, (apr_uint64_t)apr_time_now());
}

void pm_metrics_mail_config_error(const char *error)
{
    if (shm == NULL) {
        return;
    }
    write_text(shm->mail_config_error, error);
    apr_atomic_set32(&shm->mail_held, 1);
}

int pm_metrics_mail_held(void)
{
    return shm != NULL && apr_atomic_read32(&shm->mail_held) != 0;
}

static void copy_counters(pm_metrics_view *out)
{
    int g, i;

    for (g = 0; g < PM_GROUP_COUNT; g++) {
        for (i = 0; i < PM_STATUS_CLASSES; i++) {
            out->requests[g][i] = apr_atomic_read64(&shm->requests[g][i]);
        }
        for (i = 0; i <= PM_DURATION_BUCKETS; i++) {
            out->buckets[g][i] = apr_atomic_read64(&shm->buckets[g][i]);
        }
        out->duration_us[g] = apr_atomic_read64(&shm->duration_us[g]);
    }
    out->db_failures = apr_atomic_read64(&shm->db_failures);
    out->sent = apr_atomic_read64(&shm->sent);
    out->retried = apr_atomic_read64(&shm->retried);
    out->failed = apr_atomic_read64(&shm->failed);
    out->passes = apr_atomic_read64(&shm->passes);
    out->started = (apr_time_t)apr_atomic_read64(&shm->started);
    out->last_pass = (apr_time_t)apr_atomic_read64(&shm->last_pass);
    out->last_progress = (apr_time_t)apr_atomic_read64(&shm->last_progress);
    out->last_error_at = (apr_time_t)apr_atomic_read64(&shm->last_error_at);
}

int pm_metrics_read(pm_metrics_view *out)
{
    int tries;

    memset(out, 0, sizeof(*out));
    if (shm == NULL) {
        return 0;
    }
    copy_counters(out);
    for (tries = 0; tries < 100; tries++) {
        apr_uint32_t before = apr_atomic_read32(&shm->seq);
        if (before & 1) {
            apr_sleep(100);
            continue;
        }
        memcpy(out->last_error, shm->last_error, PM_METRICS_TEXT);
        memcpy(out->mail_config_error, shm->mail_config_error, PM_METRICS_TEXT);
        if (apr_atomic_read32(&shm->seq) == before) {
            break;
        }
    }
    out->last_error[PM_METRICS_TEXT - 1] = '\0';
    out->mail_config_error[PM_METRICS_TEXT - 1] = '\0';
    return 1;
}
