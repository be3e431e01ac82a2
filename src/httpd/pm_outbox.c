/* pm_outbox.c — the delivery worker. Three short phases per pass so no database
 * connection is held during SMTP: (1) claim due rows with a lease, make each
 * token and store only its hash; (2) send the batch over one SMTP connection;
 * (3) record sent / retry-with-backoff / failed. The raw token lives only in
 * this pass's pool and in the email. */
#include "pm_outbox.h"
#include "pm_metrics.h"
#include "pm_text.h"
#include "pm_mail_format.h"
#include "pm_mail_smtp.h"
#include "pm_settings.h"
#include "pm_store.h"
#include "pm_token.h"

#include "apr_atomic.h"
#include "apr_optional.h"
#include "mod_watchdog.h"

APLOG_USE_MODULE(portal_manager);

#define BATCH_MAX        20
#define RETRY_CAP_SEC    3600

typedef struct {
    long long outbox_id, invitation_id;
    int attempts;
    pm_mail_message msg;
    pm_send_result result;
    const char *error;
} delivery;

/* Child shutdown: mod_dbd's connection pool is a subpool of the child pool and
 * goes before mod_watchdog joins our thread, so a pass still holding a connection
 * would abort the child. A pre-cleanup on the child pool says "stop" and waits
 * for the pass in progress. */
static volatile apr_uint32_t outbox_stopping = 0;
static volatile apr_uint32_t outbox_in_pass = 0;

const char *pm_outbox_message_id(apr_pool_t *p, server_rec *s)
{
    pm_server_conf *conf = pm_server_config(s);
    const char *at = conf->mail_from_addr ? strchr(conf->mail_from_addr, '@') : NULL;
    const char *hex = pm_random_hex(p, 16);

    return apr_psprintf(p, "<%s@%s>", hex ? hex : "0", at ? at + 1 : "portal-manager.invalid");
}

/* exponential backoff from PortalOutboxRetryDelay, capped, with +-25% jitter */
static long long retry_delay(pm_server_conf *conf, int attempts)
{
    long long base = conf->outbox_retry_delay != PM_UNSET ? conf->outbox_retry_delay
                                                          : PM_DEFAULT_OUTBOX_RETRY_DELAY;
    long long delay = base;
    unsigned char r = 0;
    int i;

    for (i = 1; i < attempts && delay < RETRY_CAP_SEC; i++) {
        delay *= 2;
    }
    if (delay > RETRY_CAP_SEC) {
        delay = RETRY_CAP_SEC;
    }
    apr_generate_random_bytes(&r, 1);
    delay += delay * ((int)r - 128) / 512;          /* within +-25% */
    return delay > 0 ? delay : 1;
}

void pm_outbox_render(apr_pool_t *p, server_rec *s, const pm_settings *st, const char *kind,
                      const char *first_name, const char *link, long long expires_at,
                      const char **subject, const char **text, const char **html)
{
    const char *subject_t, *message_t;
    pm_mail_vars v, sv;

    pm_settings_templates(st, kind, &subject_t, &message_t);
    v.recipient_first_name = first_name ? first_name : "";
    v.practice_name = pm_settings_practice_name(st, pm_server_config(s));
    v.link = link;
    v.expires_at = pm_mail_human_time(p, expires_at);
    sv = v;
    sv.link = NULL;                 /* never in a Subject header, whatever the row says */
    *subject = pm_template_text(p, subject_t, &sv);
    *text = pm_template_text(p, message_t, &v);
    *html = pm_template_html(p, message_t, &v, st->brand_color, st->logo != NULL);
}

/* The envelope every message of a pass shares: its address, its stored
 * Message-ID (stable across retries), the time now and the practice's logo. */
static void address_message(apr_pool_t *p, const pm_settings *st, const pm_row *row,
                            const char *to, delivery *d)
{
    d->msg.to_name = "";
    d->msg.to_addr = to;
    d->msg.message_id = pm_row_str(row, DUE_MESSAGE_ID);
    d->msg.date = apr_time_now();
    d->msg.logo = pm_mail_image_from_data_url(p, st->logo);
}

static void render_message(apr_pool_t *p, server_rec *s, const pm_settings *st,
                           const pm_row *row, const char *token, delivery *d)
{
    pm_server_conf *conf = pm_server_config(s);

    pm_outbox_render(p, s, st, pm_row_str(row, DUE_REP_ID) ? "representative" : "client",
                     pm_row_str(row, DUE_FIRST_NAME),
                     apr_pstrcat(p, conf->invitation_url, "#t=", token, NULL),
                     pm_row_int(row, DUE_EXPIRES_AT, 0), &d->msg.subject, &d->msg.text,
                     &d->msg.html);
    address_message(p, st, row, pm_row_str(row, DUE_EMAIL), d);
    /* the display name is the first name the greeting uses: the email never
     * carries more of the recipient's name (docs/security.md) */
    d->msg.to_name = pm_row_str(row, DUE_FIRST_NAME) ? pm_row_str(row, DUE_FIRST_NAME) : "";
}

/* An admin's test email: the real template and path, a link that cannot work. */
static void render_test_message(apr_pool_t *p, server_rec *s, const pm_settings *st,
                                const pm_row *row, delivery *d)
{
    pm_server_conf *conf = pm_server_config(s);
    const char *kind = strcmp(pm_row_str(row, DUE_PURPOSE), "test_representative") == 0
                       ? "representative" : "client";

    pm_outbox_render(p, s, st, kind, PM_SAMPLE_FIRST_NAME,
                     apr_pstrcat(p, conf->invitation_url, PM_TEST_LINK_FRAGMENT, NULL),
                     pm_now_sec(NULL) + st->invitation_ttl_hours * 3600,
                     &d->msg.subject, &d->msg.text, &d->msg.html);
    d->msg.subject = apr_pstrcat(p, "[Test] ", d->msg.subject, NULL);
    address_message(p, st, row, pm_row_str(row, DUE_TO_ADDRESS), d);
}

static void mark_failed(pm_db *db, apr_pool_t *p, long long outbox_id, const char *why)
{
    pm_db_exec(db, PM_SQL_OUTBOX_FAILED, NULL, why, pm_arg_int(p, outbox_id));
}

/* Phase 1 for one row: claim it, then give the invitation a new token hash. */
static int prepare_delivery(pm_db *db, apr_pool_t *p, server_rec *s, const pm_settings *st,
                            const pm_row *row, delivery *d)
{
    pm_server_conf *conf = pm_server_config(s);
    long long now = pm_now_sec(NULL), lease = now + conf->mail_timeout * 2 + 30;
    const char *token, *hash, *oid = pm_row_str(row, DUE_ID);
    const char *iid = pm_row_str(row, DUE_INVITATION_ID);
    int claimed = 0, stored = 0;

    if (pm_db_exec(db, PM_SQL_OUTBOX_CLAIM, &claimed, pm_arg_int(p, lease), oid,
                   pm_arg_int(p, now)) != APR_SUCCESS || claimed != 1) {
        return 0;
    }
    d->outbox_id = pm_row_int(row, DUE_ID, 0);
    d->invitation_id = pm_row_int(row, DUE_INVITATION_ID, 0);
    d->attempts = (int)pm_row_int(row, DUE_ATTEMPTS, 0) + 1;
    if (strcmp(pm_row_str(row, DUE_PURPOSE), "invitation") != 0) {
        render_test_message(p, s, st, row, d);
        return 1;
    }
    if (pm_row_str(row, DUE_INV_STATUS) == NULL
        || strcmp(pm_row_str(row, DUE_INV_STATUS), "pending") != 0) {
        mark_failed(db, p, d->outbox_id,
                    apr_psprintf(p, "not sent: the invitation was %s before delivery",
                                 pm_row_str(row, DUE_INV_STATUS)));
        return 0;
    }
    if (pm_token_new(p, &token, &hash) != APR_SUCCESS || pm_db_begin(db) != APR_SUCCESS
        || pm_db_exec(db, PM_SQL_TOKEN_RETIRE, NULL, pm_arg_int(p, now), iid) != APR_SUCCESS
        || pm_db_exec(db, PM_SQL_INVITATION_SET_TOKEN, &stored, hash, iid) != APR_SUCCESS) {
        pm_db_rollback(db);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00050)
                     "outbox %s: could not store the new token hash; will retry", oid);
        pm_db_exec(db, PM_SQL_OUTBOX_RETRY, NULL, pm_arg_int(p, now), NULL, oid);
        return 0;
    }
    if (stored != 1) {                    /* answered or withdrawn since the row was read */
        pm_db_rollback(db);
        mark_failed(db, p, d->outbox_id, "not sent: the invitation was answered or withdrawn "
                    "before delivery");
        return 0;
    }
    if (pm_db_commit(db) != APR_SUCCESS) {
        pm_db_exec(db, PM_SQL_OUTBOX_RETRY, NULL, pm_arg_int(p, now), NULL, oid);
        return 0;
    }
    render_message(p, s, st, row, token, d);
    return 1;
}

static const char *held_reason(apr_pool_t *p, const char *error)
{
    return apr_pstrcat(p, "not sent: mail configuration error: ", error, NULL);
}

/* Emails that came due while the queue is held are not tried; they say why. */
static void show_hold(pm_db *db, apr_pool_t *p, long long now)
{
    pm_metrics_view *v = apr_palloc(p, sizeof(*v));

    if (pm_metrics_read(v) && v->mail_config_error[0]) {
        pm_db_exec(db, PM_SQL_OUTBOX_HOLD_WAITING, NULL, held_reason(p, v->mail_config_error),
                   pm_arg_int(p, now));
    }
}

static apr_array_header_t *claim_batch(server_rec *s, apr_pool_t *p)
{
    apr_array_header_t *batch = apr_array_make(p, 4, sizeof(delivery));
    apr_array_header_t *rows = NULL;
    pm_settings st;
    pm_db *db = pm_db_open(s, p);
    long long now = pm_now_sec(NULL);
    int i;

    if (db == NULL) {
        return batch;
    }
    if (pm_metrics_mail_held()) {        /* until a restart brings a fixed configuration */
        show_hold(db, p, now);
        pm_db_close(db);
        pm_metrics_worker_progress(1);
        return batch;
    }
    /* rows first, settings second: a row queued after a settings change is
     * then always rendered with that change */
    if (pm_db_select(db, PM_SQL_OUTBOX_DUE, &rows, pm_arg_int(p, now), pm_arg_int(p, now),
                     pm_arg_int(p, BATCH_MAX)) == APR_SUCCESS && rows->nelts == 0) {
        pm_metrics_worker_progress(1);    /* a pass with nothing to do is a whole pass */
    }
    else if (rows != NULL && rows->nelts > 0 && pm_settings_load(db, p, &st) == APR_SUCCESS) {
        for (i = 0; i < rows->nelts; i++) {
            delivery d;
            memset(&d, 0, sizeof(d));
            if (prepare_delivery(db, p, s, &st, &APR_ARRAY_IDX(rows, i, pm_row), &d)) {
                APR_ARRAY_PUSH(batch, delivery) = d;
            }
        }
    }
    pm_db_close(db);
    return batch;
}

/* A certificate or TLS-policy failure is the configuration's, not this email's:
 * the row stays queued with the error for staff to read and its attempt given
 * back; the worker holds the queue (one log line) until a restart. */
static void hold_for_config(server_rec *s, apr_pool_t *p, pm_db *db, delivery *d)
{
    pm_db_exec(db, PM_SQL_OUTBOX_HOLD, NULL, held_reason(p, d->error),
               pm_arg_int(p, d->outbox_id));
    if (!pm_metrics_mail_held()) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00311)
                     "mail configuration error: %s; no email is sent until the mail "
                     "settings (PortalMailServer, PortalMailTLS, PortalMailCAFile, "
                     "PortalMailCAPath) are fixed and httpd is restarted gracefully", d->error);
        pm_metrics_mail_config_error(d->error);
    }
}

/* EHLO names PortalMailHelo, else the main server's ServerName (an IPv4 address
 * as the literal [a.b.c.d]), never the machine's bare host name. */
static const char *helo_name(apr_pool_t *p, server_rec *s, const pm_server_conf *conf)
{
    const char *name = conf->mail_helo ? conf->mail_helo : s->server_hostname;

    if (name == NULL || conf->mail_helo) {
        return name;
    }
    if (strspn(name, "0123456789.") == strlen(name)) {
        name = apr_pstrcat(p, "[", name, "]", NULL);
    }
    return pm_parse_helo_name(name) == NULL ? name : NULL;
}

static void send_batch(server_rec *s, apr_pool_t *p, apr_array_header_t *batch)
{
    pm_server_conf *conf = pm_server_config(s);
    pm_smtp_conf sc;
    pm_smtp *smtp;
    int i;

    memset(&sc, 0, sizeof(sc));
    sc.server_url = conf->mail_server;
    sc.tls_mode = conf->mail_tls != PM_UNSET ? conf->mail_tls : PM_DEFAULT_MAIL_TLS;
    sc.user = conf->mail_user;
    sc.password = conf->mail_password;
    sc.timeout_sec = conf->mail_timeout != PM_UNSET ? conf->mail_timeout : PM_DEFAULT_MAIL_TIMEOUT;
    sc.from_name = conf->mail_from_name;
    sc.from_addr = conf->mail_from_addr;
    sc.helo_host = helo_name(p, s, conf);
    sc.ca_file = conf->mail_ca_file;
    sc.ca_path = conf->mail_ca_path;
    smtp = pm_smtp_open(p, &sc);
    for (i = 0; i < batch->nelts; i++) {
        delivery *d = &APR_ARRAY_IDX(batch, i, delivery);
        if (smtp == NULL) {
            d->result = PM_SEND_RETRY;
            d->error = "not sent: could not set up the SMTP client";
            continue;
        }
        if (i > 0 && APR_ARRAY_IDX(batch, i - 1, delivery).result == PM_SEND_CONFIG) {
            d->result = PM_SEND_CONFIG;   /* the same configuration would fail the same way */
            d->error = APR_ARRAY_IDX(batch, i - 1, delivery).error;
            continue;
        }
        d->result = pm_smtp_send(smtp, p, &d->msg, &d->error);
    }
}

static void record_outcomes(server_rec *s, apr_pool_t *p, apr_array_header_t *batch)
{
    pm_server_conf *conf = pm_server_config(s);
    int max_attempts = conf->outbox_max_attempts != PM_UNSET ? conf->outbox_max_attempts
                                                             : PM_DEFAULT_OUTBOX_ATTEMPTS;
    pm_db *db = pm_db_open(s, p);
    const char *now = pm_arg_int(p, pm_now_sec(NULL));
    int i;

    if (db == NULL) {
        return;                           /* leases expire; rows are retried */
    }
    for (i = 0; i < batch->nelts; i++) {
        delivery *d = &APR_ARRAY_IDX(batch, i, delivery);
        const char *oid = pm_arg_int(p, d->outbox_id);
        if (d->error != NULL) {
            d->error = pm_mask_emails(p, d->error);   /* stored and logged below */
        }
        pm_metrics_worker_outcome(d->result == PM_SEND_OK,
                                  d->result == PM_SEND_RETRY && d->attempts < max_attempts,
                                  d->result == PM_SEND_FAILED
                                  || (d->result == PM_SEND_RETRY && d->attempts >= max_attempts),
                                  d->error);
        if (d->result == PM_SEND_CONFIG) {
            hold_for_config(s, p, db, d);
        }
        else if (d->result == PM_SEND_OK) {
            pm_db_exec(db, PM_SQL_OUTBOX_SENT, NULL, now, oid);
            if (d->invitation_id > 0) {
                pm_db_exec(db, PM_SQL_INVITATION_SENT, NULL, now, pm_arg_int(p, d->invitation_id));
            }
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PM_LOGNO(00051)
                         "outbox %s: sent (attempt %d)", oid, d->attempts);
        }
        else if (d->result == PM_SEND_RETRY && d->attempts < max_attempts) {
            long long next = pm_now_sec(NULL) + retry_delay(conf, d->attempts);
            pm_db_exec(db, PM_SQL_OUTBOX_RETRY, NULL, pm_arg_int(p, next), d->error, oid);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PM_LOGNO(00052)
                         "outbox %s: attempt %d failed, retrying in %ds: %s", oid,
                         d->attempts, (int)(next - pm_now_sec(NULL)), d->error);
        }
        else {
            mark_failed(db, p, d->outbox_id, d->error);
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00053)
                         "outbox %s: delivery failed after %d attempt(s): %s", oid,
                         d->attempts, d->error);
        }
    }
    pm_db_close(db);
    pm_metrics_worker_progress(1);
}

int pm_outbox_run_once(server_rec *s, apr_pool_t *p)
{
    apr_array_header_t *batch = claim_batch(s, p);

    if (batch->nelts == 0) {
        return 0;
    }
    send_batch(s, p, batch);
    record_outcomes(s, p, batch);
    return batch->nelts;
}

static apr_status_t outbox_tick(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    apr_pool_t *p;
    int rounds = 0;

    /* "in a pass" is said before "stopping" is read (outbox_child_exit does the
     * reverse), so one of the two always sees the other: a pass never starts after
     * the child's exit has stopped waiting for it */
    apr_atomic_set32(&outbox_in_pass, 1);
    if (state != AP_WATCHDOG_STATE_RUNNING || apr_atomic_read32(&outbox_stopping)) {
        apr_atomic_set32(&outbox_in_pass, 0);
        return APR_SUCCESS;
    }
    /* a full batch means more may be due: keep going (bounded) before sleeping */
    while (!apr_atomic_read32(&outbox_stopping) && rounds++ < 50
           && apr_pool_create(&p, pool) == APR_SUCCESS) {
        int sent = pm_outbox_run_once(s, p);
        apr_pool_destroy(p);          /* tokens and messages go with it */
        if (sent < BATCH_MAX) {
            break;
        }
    }
    apr_atomic_set32(&outbox_in_pass, 0);
    return APR_SUCCESS;
}

static apr_status_t outbox_child_exit(void *data)
{
    server_rec *s = data;
    pm_server_conf *conf = pm_server_config(s);
    int timeout = conf->mail_timeout != PM_UNSET ? conf->mail_timeout : PM_DEFAULT_MAIL_TIMEOUT;
    int waited;

    apr_atomic_set32(&outbox_stopping, 1);
    for (waited = 0; apr_atomic_read32(&outbox_in_pass) && waited < (timeout + 5) * 20; waited++) {
        apr_sleep(apr_time_from_msec(50));
    }
    return APR_SUCCESS;
}

void pm_outbox_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_atomic_set32(&outbox_stopping, 0);
    apr_pool_pre_cleanup_register(pchild, s, outbox_child_exit);
}

int pm_outbox_register(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    pm_server_conf *conf = pm_server_config(s);
    int interval = conf->outbox_interval_ms != PM_UNSET ? conf->outbox_interval_ms
                                                        : PM_DEFAULT_OUTBOX_INTERVAL;
    ap_watchdog_t *wd = NULL;

    if (get_instance == NULL || register_callback == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00054)
                     "mod_portal_manager needs mod_watchdog for email delivery "
                     "(LoadModule watchdog_module, or an httpd with it built in)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (pm_smtp_global_init() != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00055) "curl_global_init failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (get_instance(&wd, "portal-manager-outbox", 0, 1, pconf) != APR_SUCCESS
        || register_callback(wd, apr_time_from_msec(interval), s, outbox_tick) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00056)
                     "could not start the delivery worker");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}
