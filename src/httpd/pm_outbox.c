/* pm_outbox.c — the delivery worker. A pass claims due rows under its own claim
 * token (pm_outbox_claim.c), gives each invitation the token of this send, then
 * sends over its sender's SMTP connection, renewing its lease before each message and
 * recording each outcome right after the reply. No database connection is held
 * during SMTP. While more than a batch is due, up to PortalMailConnections senders
 * run side by side, each pass after pass over a connection kept for the drain.
 * Tokens are derived (HMAC) from a server secret and the send, so a send repeated
 * after a crash carries the same link as the copy that went out. */
#include "pm_outbox.h"
#include "pm_bounce.h"
#include "pm_audit.h"
#include "pm_notices.h"
#include "pm_reviews.h"
#include "pm_outbox_claim.h"
#include "pm_outbox_wake.h"
#include "pm_metrics.h"
#include "pm_config_parse.h"
#include "pm_text.h"
#include "pm_locale.h"
#include "pm_mail_format.h"
#include "pm_mail_smtp.h"
#include "pm_settings.h"
#include "pm_store.h"
#include "pm_token.h"

#include "apr_atomic.h"
#include "apr_thread_proc.h"
#include "apr_optional.h"
#include "mod_watchdog.h"

APLOG_USE_MODULE(portal_manager);

#define BATCH_MAX        20

/* Child shutdown: mod_dbd's connection pool is a subpool of the child pool and
 * goes before mod_watchdog joins our thread, so a pass still holding a connection
 * would abort the child. A pre-cleanup on the child pool says "stop" (the pass
 * stops before its next message and gives its rows back) and waits for it. */
static volatile apr_uint32_t outbox_stopping = 0;
static volatile apr_uint32_t outbox_in_pass = 0;

/* Set by the child's last child_init hook: mod_dbd's pool and ours are ready. The
 * worker's first call comes at mod_watchdog's start (STARTING), which may come
 * before the other modules' child_init, so it waits for this (one TICK_SPAN at most). */
static volatile apr_uint32_t outbox_child_ready = 0;
#define READY_SLICE apr_time_from_msec(5)

/* Without PortalTokenSecretFile: a secret made once in the parent process, so
 * every child and every graceful generation of this httpd derives the same links
 * (a full restart makes a new one). */
static unsigned char fallback_secret[32];
static int fallback_secret_ready = 0;

/* Whether the last pass found the mail server unreachable (any of this child's
 * passes: they may run side by side). */
static volatile apr_uint32_t relay_is_down = 0;

const char *pm_outbox_message_id(apr_pool_t *p, server_rec *s)
{
    pm_server_conf *conf = pm_server_config(s);
    const char *at = conf->mail_from_addr ? strchr(conf->mail_from_addr, '@') : NULL;
    const char *hex = pm_random_hex(p, 16);

    return apr_psprintf(p, "<%s@%s>", hex ? hex : "0", at ? at + 1 : "portal-manager.invalid");
}

static void token_secret(server_rec *s, const unsigned char **secret, apr_size_t *len)
{
    pm_server_conf *conf = pm_server_config(s);

    if (conf->token_secret != NULL) {
        *secret = (const unsigned char *)conf->token_secret;
        *len = strlen(conf->token_secret);
    }
    else {
        *secret = fallback_secret;
        *len = fallback_secret_ready ? sizeof(fallback_secret) : 0;
    }
}

/* The envelope sender naming this email, with PortalMailBounceAddress (pm_bounce.c);
 * NULL (the From address) without it */
static const char *bounce_sender(apr_pool_t *p, server_rec *s, long long outbox_id)
{
    pm_server_conf *conf = pm_server_config(s);

    if (conf->bounce_addr == NULL || conf->token_secret == NULL) {
        return NULL;
    }
    return pm_bounce_sender(p, (const unsigned char *)conf->token_secret,
                            strlen(conf->token_secret), conf->bounce_addr, outbox_id);
}

const char *pm_outbox_date_time(apr_pool_t *p, const pm_settings *st, const char *lang,
                                long long unix_seconds)
{
    const char *when = pm_locale_date_time(p, unix_seconds, lang, st->time_zone,
                                           pm_settings_catalog_text(lang, "date_time_skeleton"));

    /* only a catalog's unusable skeleton leads here: an unambiguous date still */
    return when ? when : pm_mail_date(p, apr_time_from_sec(unix_seconds));
}

/* The words the HTML layout and the footer add around the practice's template, in
 * the recipient's language (catalog section "email"; a reset link has its own button
 * and note). */
static void mail_layout_words(apr_pool_t *p, pm_mail_vars *v, const char *kind,
                              const char *lang)
{
    const char *own = strcmp(kind, "reset") == 0 ? "reset_" : "";

    v->button_label = pm_settings_catalog_text(lang, apr_pstrcat(p, own, "button_label", NULL));
    v->link_hint = pm_settings_catalog_text(lang, "link_hint");
    v->phone_label = pm_settings_catalog_text(lang, "phone_label");
    v->lang = lang;
    v->footer_note = pm_template_text(p, pm_settings_catalog_text(
                                             lang, apr_pstrcat(p, own, "footer_note", NULL)), v);
}

void pm_outbox_render(apr_pool_t *p, server_rec *s, const pm_settings *st, const char *kind,
                      const char *lang, const char *first_name, const char *link,
                      long long expires_at, const char **subject, const char **text,
                      const char **html)
{
    const char *subject_t, *message_t;
    pm_mail_vars v, sv;

    pm_settings_templates(p, st, kind, lang, &subject_t, &message_t);
    memset(&v, 0, sizeof(v));
    v.recipient_first_name = first_name ? first_name : "";
    v.practice_name = pm_settings_practice_name(st, pm_server_config(s));
    v.link = link;
    v.expires_at = pm_outbox_date_time(p, st, lang, expires_at);
    sv = v;
    sv.link = NULL;                 /* never in a Subject header, whatever the row says */
    *subject = pm_template_text(p, subject_t, &sv);
    mail_layout_words(p, &v, kind, lang);
    v.practice_phone = st->practice_phone;
    v.practice_address = st->practice_address;
    *text = apr_pstrcat(p, pm_template_text(p, message_t, &v), pm_mail_footer_text(p, &v), NULL);
    *html = pm_template_html(p, message_t, &v, st->brand_color, st->logo != NULL);
}

/* A Message-ID queued outside httpd (the roster sync's address notices,
 * PM_OUTBOX_ID_OUTSIDE), which does not know PortalMailFrom's domain: made again. */
static int made_outside(const char *message_id)
{
    apr_size_t n = message_id ? strlen(message_id) : 0, m = strlen(PM_OUTBOX_ID_OUTSIDE);

    return n > m && strcmp(message_id + n - m, PM_OUTBOX_ID_OUTSIDE) == 0;
}

/* The envelope of a message: its address, its Message-ID (the one stored at
 * queueing for a first attempt, a new one for every later attempt: a copy that
 * went out unrecorded must not share it with its repeat), the time now and the
 * practice's logo. */
static void address_message(apr_pool_t *p, server_rec *s, const pm_settings *st,
                            const pm_row *row, const char *to, pm_delivery *d)
{
    d->msg.to_name = "";
    d->msg.to_addr = to;
    d->msg.from_name = pm_settings_from_name(st, pm_server_config(s));
    d->msg.envelope_from = bounce_sender(p, s, d->outbox_id);
    d->msg.message_id = d->attempts > 1 || made_outside(pm_row_str(row, DUE_MESSAGE_ID))
                        ? pm_outbox_message_id(p, s) : pm_row_str(row, DUE_MESSAGE_ID);
    d->msg.date = apr_time_now();
    d->msg.logo = pm_mail_image_from_data_url(p, st->logo);
}

static void render_message(apr_pool_t *p, server_rec *s, const pm_settings *st,
                           const pm_row *row, const char *token, pm_delivery *d)
{
    pm_server_conf *conf = pm_server_config(s);
    const char *lang = pm_recipient_language(pm_row_str(row, DUE_LANGUAGE),
                                             st->default_language);
    const char *kind = strcmp(pm_row_str(row, DUE_KIND), "reset") == 0 ? "reset"
                       : pm_row_str(row, DUE_REP_ID) ? "representative" : "client";

    pm_outbox_render(p, s, st, kind, lang, pm_row_str(row, DUE_FIRST_NAME),
                     apr_pstrcat(p, conf->invitation_url, "#t=", token, NULL),
                     pm_row_int(row, DUE_EXPIRES_AT, 0), &d->msg.subject, &d->msg.text,
                     &d->msg.html);
    address_message(p, s, st, row, pm_row_str(row, DUE_EMAIL), d);
    d->msg.lang = lang;
    /* the display name is the first name the greeting uses: the email never
     * carries more of the recipient's name (docs/security.md) */
    d->msg.to_name = pm_row_str(row, DUE_FIRST_NAME) ? pm_row_str(row, DUE_FIRST_NAME) : "";
}

/* An admin's test email: the real template and path, a link that cannot work. */
static void render_test_message(apr_pool_t *p, server_rec *s, const pm_settings *st,
                                const pm_row *row, pm_delivery *d)
{
    pm_server_conf *conf = pm_server_config(s);
    const char *kind = strcmp(pm_row_str(row, DUE_PURPOSE), "test_representative") == 0
                       ? "representative" : "client";
    const char *lang = pm_recipient_language(pm_row_str(row, DUE_LANGUAGE),
                                             st->default_language);

    pm_outbox_render(p, s, st, kind, lang, PM_SAMPLE_FIRST_NAME,
                     apr_pstrcat(p, conf->invitation_url, PM_TEST_LINK_FRAGMENT, NULL),
                     pm_now_sec(NULL) + st->invitation_ttl_hours * 3600,
                     &d->msg.subject, &d->msg.text, &d->msg.html);
    d->msg.subject = apr_pstrcat(p, pm_settings_catalog_text(lang, "test_subject_prefix"),
                                 d->msg.subject, NULL);
    address_message(p, s, st, row, pm_row_str(row, DUE_TO_ADDRESS), d);
    d->msg.lang = lang;
}

/* The notice of an address change (issue 14), to the address on file before it: when
 * it changed (the row was queued in the change's transaction) and whom to contact if
 * the person did not ask for it, in their language. No link, no token, nothing about
 * the new address; the only name is the recipient's own first name. The texts are
 * the catalog's (no setting, like a reset link's). */
static void render_address_notice(apr_pool_t *p, server_rec *s, const pm_settings *st,
                                  const pm_row *row, pm_delivery *d)
{
    const char *lang = pm_recipient_language(pm_row_str(row, DUE_LANGUAGE),
                                             st->default_language);
    const char *first = pm_row_str(row, DUE_FIRST_NAME);
    const char *message_t = pm_settings_catalog_text(
        lang, st->practice_phone && *st->practice_phone ? "address_notice_message"
                                                        : "address_notice_message_no_phone");
    pm_mail_vars v;

    memset(&v, 0, sizeof(v));
    v.recipient_first_name = first ? first : "";
    v.practice_name = pm_settings_practice_name(st, pm_server_config(s));
    v.changed_at = pm_outbox_date_time(p, st, lang, pm_row_int(row, DUE_CREATED_AT, 0));
    v.practice_phone = st->practice_phone;
    v.practice_address = st->practice_address;
    v.phone_label = pm_settings_catalog_text(lang, "phone_label");
    v.lang = lang;
    d->msg.subject = pm_template_text(p, pm_settings_catalog_text(lang, "address_notice_subject"),
                                      &v);
    v.footer_note = pm_template_text(p, pm_settings_catalog_text(lang,
                                                                 "address_notice_footer_note"), &v);
    d->msg.text = apr_pstrcat(p, pm_template_text(p, message_t, &v), pm_mail_footer_text(p, &v),
                              NULL);
    d->msg.html = pm_template_html(p, message_t, &v, st->brand_color, st->logo != NULL);
    address_message(p, s, st, row, pm_row_str(row, DUE_TO_ADDRESS), d);
    d->msg.lang = lang;
    d->msg.to_name = first ? first : "";
}

/* This send's token: the same for every attempt of one outbox row. */
static int send_token(apr_pool_t *p, server_rec *s, const pm_delivery *d, const char **token,
                      const char **hash)
{
    const unsigned char *secret;
    apr_size_t len;

    token_secret(s, &secret, &len);
    if (pm_token_derive(p, secret, len, d->invitation_id, d->outbox_id,
                        pm_row_str(d->row, DUE_TOKEN_NONCE), token, hash)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00338)
                     PM_OUTBOX_LOG "no token secret to derive the link from",
                     (apr_int64_t)d->outbox_id);
        return 0;
    }
    return 1;
}

/* The invitation's current token becomes this send's: an earlier send's link
 * answers "superseded", a repeat of this send keeps its link. Inside the batch's
 * transaction; the statements do nothing once the invitation is no longer pending
 * (*stored 0), so nothing needs undoing. The row is taken first, as a resend takes
 * it before moving the token aside: had the worker moved the old hash aside first,
 * a resend holding the row and moving the same hash would wait for the worker, and
 * the worker for the row (PostgreSQL: a deadlock, one of them rolled back). */
static apr_status_t store_token(pm_db *db, apr_pool_t *p, const char *hash,
                                const pm_delivery *d, int *stored)
{
    const char *iid = pm_arg_int(p, d->invitation_id);
    apr_status_t rv = pm_db_exec(db, PM_SQL_INVITATION_LOCK_ROW, NULL, iid);

    if (rv == APR_SUCCESS) {
        rv = pm_db_exec(db, PM_SQL_TOKEN_RETIRE_OTHER, NULL, pm_arg_int(p, pm_now_sec(NULL)),
                        iid, hash);
    }
    return rv == APR_SUCCESS ? pm_db_exec(db, PM_SQL_INVITATION_SET_TOKEN, stored, hash, iid)
                             : rv;
}

/* Phase 1 for one claimed row, inside the batch's transaction: check it may still
 * go and store its token's hash (d->token keeps the link's token for rendering).
 * 1: to be sent; 0: not sent (given up or back); -1: the database failed. */
static int prepare_delivery(pm_db *db, pm_outbox_pass *ps, const pm_row *row, pm_delivery *d)
{
    apr_pool_t *p = ps->p;
    server_rec *s = ps->s;
    const char *hash, *status = pm_row_str(row, DUE_INV_STATUS);
    int stored = 0;

    d->pass = ps;
    d->row = row;
    d->outbox_id = pm_row_int(row, DUE_ID, 0);
    d->invitation_id = pm_row_int(row, DUE_INVITATION_ID, 0);
    d->attempts = (int)pm_row_int(row, DUE_ATTEMPTS, 0) + 1;
    if (strcmp(pm_row_str(row, DUE_PURPOSE), "invitation") != 0) {
        return 1;
    }
    if (status == NULL || strcmp(status, "pending") != 0) {
        pm_outbox_give_up(db, ps, d->outbox_id, apr_psprintf(p, "not sent: the invitation "
                          "was %s before delivery", status));
        return 0;
    }
    if (pm_row_int(row, DUE_NEWER_SEND, 0)) {
        pm_outbox_give_up(db, ps, d->outbox_id, "not sent: replaced by a newer email");
        return 0;
    }
    if (!send_token(p, s, d, &d->token, &hash)) {
        pm_outbox_give_back(db, ps, d->outbox_id);            /* logged */
        return 0;
    }
    if (store_token(db, p, hash, d, &stored) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00050)
                     PM_OUTBOX_LOG "could not store the new token hash; the batch goes "
                     "back to the queue", (apr_int64_t)d->outbox_id);
        return -1;
    }
    if (stored != 1) {                    /* answered or withdrawn since the row was read */
        pm_outbox_give_up(db, ps, d->outbox_id, "not sent: the invitation was answered or "
                          "withdrawn before delivery");
        return 0;
    }
    return 1;
}

/* Phase 1 for the batch: every row's checks and token in one transaction (one
 * commit, not one per email), then the messages rendered outside it. 0 when the
 * database failed: nothing of it stays, the caller gives the claim back. */
static int prepare_batch(pm_db *db, pm_outbox_pass *ps, const pm_settings *st,
                         const apr_array_header_t *rows, apr_array_header_t *batch)
{
    int i;

    if (pm_db_begin(db) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < rows->nelts; i++) {
        pm_delivery d;
        int r;

        memset(&d, 0, sizeof(d));
        if ((r = prepare_delivery(db, ps, &APR_ARRAY_IDX(rows, i, pm_row), &d)) < 0) {
            pm_db_rollback(db);
            apr_array_clear(batch);
            return 0;
        }
        if (r == 1) {
            APR_ARRAY_PUSH(batch, pm_delivery) = d;
        }
    }
    if (pm_db_commit(db) != APR_SUCCESS) {
        apr_array_clear(batch);
        return 0;
    }
    for (i = 0; i < batch->nelts; i++) {
        pm_delivery *d = &APR_ARRAY_IDX(batch, i, pm_delivery);
        if (d->token) {
            render_message(ps->p, ps->s, st, d->row, d->token, d);
        }
        else if (strcmp(pm_row_str(d->row, DUE_PURPOSE), "address_notice") == 0) {
            render_address_notice(ps->p, ps->s, st, d->row, d);
        }
        else {
            render_test_message(ps->p, ps->s, st, d->row, d);
        }
    }
    return 1;
}

static const char *held_reason(apr_pool_t *p, const char *error)
{
    return apr_pstrcat(p, "not sent: mail configuration error: ", error, NULL);
}

/* Emails that came due while the queue is held are not tried; they say why. */
static void show_hold(pm_db *db, apr_pool_t *p)
{
    pm_metrics_view *v = apr_palloc(p, sizeof(*v));

    if (pm_metrics_read(v) && v->mail_config_error[0]) {
        pm_db_exec(db, PM_SQL_OUTBOX_HOLD_WAITING, NULL, held_reason(p, v->mail_config_error),
                   pm_arg_int(p, pm_now_sec(NULL)));
    }
}

/* How many emails the practice's pace (max_emails_per_minute) leaves of the last
 * minute, the emails every worker holds claimed counted as spent; 0 when it is used
 * up (a 500-invitation burst goes out over minutes, not into the relay's limit); -1
 * when the database did not answer. */
static int pace_allows(pm_db *db, apr_pool_t *p)
{
    apr_array_header_t *rows;
    pm_settings st;
    long long now = pm_now_sec(NULL), used;

    if (pm_settings_load(db, p, &st) != APR_SUCCESS
        || pm_db_select(db, pm_db_is_pgsql(db) ? PM_SQL_OUTBOX_PACE_USED_PGSQL
                                                : PM_SQL_OUTBOX_PACE_USED,
                        &rows, pm_arg_int(p, now - 60), pm_arg_int(p, now)) != APR_SUCCESS) {
        return -1;
    }
    used = pm_row_int(pm_first_row(rows), COUNT_N, 0);
    return used >= st.max_emails_per_minute ? 0 : (int)(st.max_emails_per_minute - used);
}

/* At most max_rows claimed, and no more than the pace leaves: counted and claimed in
 * one transaction under a lock every claim takes (SQLite's write lock, taken at
 * BEGIN; on PostgreSQL an advisory lock), so neither another sender's claim nor a
 * settings change commits in between. Counted first and claimed apart, a claim that
 * waited for the lock took what the queue held by then under the pace it read
 * before: a burst just after max_emails_per_minute was lowered went out at the old
 * pace. The rows claimed, or -1 when the database did not answer. */
static int claim_paced(pm_outbox_pass *ps, pm_db *db, int max_rows)
{
    apr_array_header_t *locked;
    int n;

    if (pm_db_begin(db) != APR_SUCCESS) {
        return -1;
    }
    if (pm_db_is_pgsql(db) && pm_db_select(db, PM_SQL_OUTBOX_PACE_LOCK, &locked) != APR_SUCCESS) {
        pm_db_rollback(db);
        return -1;
    }
    n = pace_allows(db, ps->p);
    if (n > max_rows) {
        n = max_rows;
    }
    if (n > 0) {
        n = pm_outbox_claim(ps, db, n);
    }
    if (n < 0 || pm_db_commit(db) != APR_SUCCESS) {
        pm_db_rollback(db);
        return -1;
    }
    return n;
}

/* Claims a batch of at most max_rows and prepares it; a row it could not prepare
 * was given back or up, and when the rows or the settings cannot be read the whole
 * claim goes back. While a mail configuration error holds the queue, nothing is
 * claimed. */
static apr_array_header_t *claim_batch(pm_outbox_pass *ps, int max_rows)
{
    apr_pool_t *p = ps->p;
    apr_array_header_t *batch = apr_array_make(p, 4, sizeof(pm_delivery));
    apr_array_header_t *rows;
    pm_settings st;
    pm_db *db = pm_db_open(ps->s, p);
    int claimed, unread = 0;

    if (db == NULL) {
        return batch;
    }
    pm_db_busy_is_routine(db);
    if (pm_metrics_mail_held()) {        /* until a restart brings a fixed configuration */
        show_hold(db, p);
        pm_db_close(db);
        pm_metrics_worker_progress(1);
        return batch;
    }
    /* rows first, settings second: a row queued after a settings change is
     * then always rendered with that change */
    claimed = claim_paced(ps, db, max_rows);
    if (claimed == 0) {
        pm_metrics_worker_progress(1);    /* a pass with nothing to do is a whole pass */
    }
    else if (claimed > 0) {
        unread = pm_db_select(db, PM_SQL_OUTBOX_DUE, &rows, ps->claim) != APR_SUCCESS
                 || pm_settings_load(db, p, &st) != APR_SUCCESS
                 || !prepare_batch(db, ps, &st, rows, batch);
    }
    pm_db_close(db);
    if (unread) {
        pm_outbox_release(ps, 0, NULL);
    }
    return batch;
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

pm_smtp *pm_outbox_open_smtp(server_rec *s, apr_pool_t *p, int timeout_sec)
{
    pm_server_conf *conf = pm_server_config(s);
    pm_smtp_conf *sc = apr_pcalloc(p, sizeof(*sc));

    sc->server_url = conf->mail_server;
    sc->tls_mode = conf->mail_tls != PM_UNSET ? conf->mail_tls : PM_DEFAULT_MAIL_TLS;
    sc->user = conf->mail_user;
    sc->password = conf->mail_password;
    sc->timeout_sec = timeout_sec;
    sc->from_name = conf->mail_from_name;
    sc->from_addr = conf->mail_from_addr;
    sc->helo_host = helo_name(p, s, conf);
    sc->ca_file = conf->mail_ca_file;
    sc->ca_path = conf->mail_ca_path;
    return pm_smtp_open(p, sc);
}

/* A certificate or TLS-policy failure is the configuration's, not the emails':
 * every row this pass holds goes back queued with the error for staff to read and
 * this attempt refunded; the worker holds the queue (one log line) until a
 * graceful restart brings a fixed configuration. */
static void hold_for_config(pm_outbox_pass *ps, pm_delivery *d)
{
    const char *why = pm_mask_reply(ps->p, d->error ? d->error : "TLS", NULL);

    pm_outbox_release(ps, d->outbox_id, held_reason(ps->p, why));
    if (!pm_metrics_mail_held()) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ps->s, PM_LOGNO(00311)
                     "mail configuration error: %s; no email is sent until the mail "
                     "settings (PortalMailServer, PortalMailTLS, PortalMailCAFile, "
                     "PortalMailCAPath) are fixed and httpd is restarted gracefully", why);
        pm_metrics_mail_config_error(why);
    }
}

/* Emails that are due and have no reason yet say why they wait (the probe that
 * found the relay down took only one of them). */
static void show_waiting(pm_outbox_pass *ps, const char *why)
{
    pm_db *db = pm_db_open(ps->s, ps->p);

    if (db != NULL) {
        pm_db_busy_is_routine(db);
        pm_db_exec(db, PM_SQL_OUTBOX_HOLD_WAITING, NULL, why,
                   pm_arg_int(ps->p, pm_now_sec(NULL)));
        pm_db_close(db);
    }
}

/* The relay could not be reached: nothing is charged, the rows go back without
 * backoff, the others due say why they wait, and the next pass (one interval
 * later) is the next probe. */
static void relay_down(pm_outbox_pass *ps, pm_delivery *d)
{
    const char *why = pm_mask_reply(ps->p, d->error ? d->error : "unreachable", NULL);

    if (apr_atomic_xchg32(&relay_is_down, 1) == 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ps->s, PM_LOGNO(00335)
                     "the mail server cannot be reached (%s); nothing is charged to the "
                     "queued emails and it is tried again every interval", why);
    }
    pm_outbox_release(ps, d->outbox_id, why);
    show_waiting(ps, why);
}

static void relay_answers(pm_outbox_pass *ps)
{
    if (apr_atomic_xchg32(&relay_is_down, 0) == 1) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ps->s, PM_LOGNO(00336)
                     "the mail server answers again");
    }
}

/* Phases 2 and 3, message by message over smtp (NULL: it could not be set up): hold,
 * send, record (from the second message on, the hold is written with the previous
 * outcome). Returns how many emails were tried. */
static int send_batch(pm_outbox_pass *ps, apr_array_header_t *batch, pm_smtp *smtp)
{
    long long refund = 0;
    int i, tried = 0, held = 0;

    for (i = 0; i < batch->nelts; i++) {
        pm_delivery *d = &APR_ARRAY_IDX(batch, i, pm_delivery);
        pm_delivery *next = i + 1 < batch->nelts ? d + 1 : NULL;
        if (apr_atomic_read32(&outbox_stopping)) {
            refund = held ? d->outbox_id : 0;     /* its attempt was charged */
            break;
        }
        if (!held && !pm_outbox_hold(ps, d, batch->nelts - i)) {
            break;
        }
        d->msg.on_data = pm_outbox_count_send;
        d->msg.on_data_ctx = d;
        if (smtp == NULL) {
            d->result = PM_SEND_RETRY;
            d->error = "could not set up the SMTP client";
        }
        else {
            d->result = pm_smtp_send(smtp, ps->p, &d->msg, &d->error);
            d->data = pm_smtp_data_state(smtp);
        }
        if (d->result == PM_SEND_RELAY_DOWN) {
            relay_down(ps, d);
            return tried;
        }
        if (d->result == PM_SEND_CONFIG) {
            hold_for_config(ps, d);
            return tried;
        }
        relay_answers(ps);
        tried++;
        if (!pm_outbox_record(ps, d, next, batch->nelts - i - 1, &held)) {
            break;                        /* the database is away: stop sending */
        }
        if (next && !held) {
            refund = next->outbox_id;     /* charged if still this pass's */
            break;                        /* another worker took rows over */
        }
    }
    if (i < batch->nelts) {
        pm_outbox_release(ps, refund, NULL);
    }
    return tried;
}

/* A sender slot: what one of the PortalMailConnections senders side by side keeps
 * from one pass to the next. Its pool has an allocator of its own (the senders run
 * at once) and lives as long as the child: a pass's pool is a subpool, so its
 * memory is reused pass after pass rather than unmapped (an allocator per pass
 * spent a fifth of the worker's time in munmap). Its SMTP connection is opened by
 * its first pass of a drain and kept for the next ones (one connect and EHLO per
 * drain, not per batch of 20); run_passes closes it. If it could not be set up,
 * the drain's passes on this slot give their rows back (send_batch with NULL). */
typedef struct {
    apr_pool_t *pool;
    apr_pool_t *conn_pool;        /* the SMTP connection's, for one drain */
    pm_smtp *smtp;
} sender_slot;

static sender_slot slots[PM_MAX_MAIL_CONNECTIONS];

static pm_smtp *slot_smtp(sender_slot *slot, pm_outbox_pass *ps)
{
    if (slot->smtp == NULL && slot->conn_pool == NULL
        && apr_pool_create(&slot->conn_pool, slot->pool) == APR_SUCCESS) {
        slot->smtp = pm_outbox_open_smtp(ps->s, slot->conn_pool, ps->timeout_sec);
    }
    return slot->smtp;
}

/* The end of a drain: every slot's SMTP connection says QUIT. */
static void close_slot_connections(int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (slots[i].conn_pool != NULL) {
            apr_pool_destroy(slots[i].conn_pool);
            slots[i].conn_pool = NULL;
        }
        slots[i].smtp = NULL;
    }
}

/* One pass over at most max_rows due rows, sending over the slot's connection;
 * returns how many emails it tried. */
static int run_pass(server_rec *s, apr_pool_t *p, int max_rows, sender_slot *slot)
{
    pm_outbox_pass ps;
    apr_array_header_t *batch;
    int sent;

    if (!pm_outbox_pass_init(&ps, s, p)) {
        return 0;
    }
    batch = claim_batch(&ps, max_rows);
    if (batch->nelts == 0) {
        return 0;
    }
    sent = send_batch(&ps, batch, slot_smtp(slot, &ps));
    pm_metrics_worker_progress(1);
    return sent;
}

/* "in a pass" is said before "stopping" is read (outbox_child_exit does the
 * reverse), so one of the two always sees the other: a pass never starts after the
 * child's exit has stopped waiting for it */
static int pass_begin(void)
{
    apr_atomic_set32(&outbox_in_pass, 1);
    if (apr_atomic_read32(&outbox_stopping)) {
        apr_atomic_set32(&outbox_in_pass, 0);
        return 0;
    }
    return 1;
}

/* PortalMailConnections, or its default */
static int mail_connections(server_rec *s)
{
    pm_server_conf *conf = pm_server_config(s);

    return conf->mail_connections != PM_UNSET ? conf->mail_connections
                                              : PM_DEFAULT_MAIL_CONNECTIONS;
}

/* One sender of a stretch, on a thread of its own (the first on the worker's):
 * passes one after the other over its slot, each claiming its share of the
 * stretch's budget, until the budget is spent or a pass finds less than it took. */
typedef struct {
    server_rec *s;
    sender_slot *slot;            /* one pass at a time uses it */
    volatile apr_uint32_t *budget;  /* the stretch's: emails the pace still allows */
    int share;                    /* the stretch's batch size */
    int emptied;                  /* a pass found less than its share: the queue is dry */
    apr_thread_t *thread;         /* NULL: not started, run by the stretch itself */
} sender_job;

static void make_slots(apr_pool_t *pchild, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        apr_allocator_t *a;
        slots[i].pool = slots[i].conn_pool = NULL;
        slots[i].smtp = NULL;
        if (apr_allocator_create(&a) != APR_SUCCESS) {
            continue;
        }
        if (apr_pool_create_ex(&slots[i].pool, pchild, NULL, a) != APR_SUCCESS) {
            apr_allocator_destroy(a);
            slots[i].pool = NULL;
            continue;
        }
        apr_allocator_owner_set(a, slots[i].pool);
    }
}

/* A batch's worth (`share`, or what is left) taken from the budget; 0 when it is
 * spent. */
static int take_share(volatile apr_uint32_t *budget, apr_uint32_t share)
{
    apr_uint32_t have, take;

    do {
        have = apr_atomic_read32(budget);
        if (have == 0) {
            return 0;
        }
        take = have < share ? have : share;
    } while (apr_atomic_cas32(budget, have - take, have) != have);
    return (int)take;
}

static void run_job(sender_job *job)
{
    apr_pool_t *p;
    int share;

    job->emptied = 0;
    while (!apr_atomic_read32(&outbox_stopping)
           && (share = take_share(job->budget, (apr_uint32_t)job->share)) > 0) {
        int sent = 0;
        if (job->slot->pool && apr_pool_create(&p, job->slot->pool) == APR_SUCCESS) {
            sent = run_pass(job->s, p, share, job->slot);
            apr_pool_destroy(p);      /* tokens and messages go with it */
        }
        if (sent < share) {
            job->emptied = 1;
            return;
        }
    }
}

/* Returns without apr_thread_exit(): that destroys the thread's pool, a subpool of
 * the stretch's, from this thread while its siblings do the same (one allocator, no
 * mutex). The stretch's pool takes them all, after the joins. */
static void *APR_THREAD_FUNC sender_main(apr_thread_t *thread, void *data)
{
    run_job(data);
    return NULL;
}

/* Up to `connections` senders side by side, sharing a budget of `allowed` emails in
 * batches of `share`: each goes on to its next batch as soon as its last is done (no
 * sender waits for the slowest of a round), joined when the budget is spent or the
 * queue is dry. 1 when the budget was spent with the queue not yet dry: more may be
 * due. */
static int run_stretch(server_rec *s, apr_pool_t *pool, int connections, int allowed,
                       int share)
{
    sender_job jobs[PM_MAX_MAIL_CONNECTIONS];
    volatile apr_uint32_t budget = (apr_uint32_t)allowed;
    int n = (allowed + share - 1) / share, i, dry = 0;

    n = n < connections ? n : connections;
    for (i = 0; i < n; i++) {
        jobs[i].s = s;
        jobs[i].slot = &slots[i];
        jobs[i].budget = &budget;
        jobs[i].share = share;
        jobs[i].thread = NULL;
        if (i > 0 && apr_thread_create(&jobs[i].thread, NULL, sender_main, &jobs[i], pool)
                     != APR_SUCCESS) {
            jobs[i].thread = NULL;
        }
    }
    for (i = 0; i < n; i++) {
        apr_status_t ignored;
        if (jobs[i].thread == NULL) {
            run_job(&jobs[i]);        /* the first, and any that got no thread */
        }
        else {
            apr_thread_join(&ignored, jobs[i].thread);
        }
        dry = dry || jobs[i].emptied;
    }
    return !dry && !apr_atomic_read32(&outbox_stopping);
}

/* What a stretch may send: the pace's allowance (pace_allows, -1 when the database
 * did not answer) and, unless the relay is down or a mail configuration error holds
 * the queue, how many emails are due now, counted up to a batch per connection (-1
 * when not counted). */
static int stretch_plan(server_rec *s, apr_pool_t *p, int connections, int *due)
{
    pm_db *db = pm_db_open(s, p);
    apr_array_header_t *rows;
    int allowed;

    *due = -1;
    if (db == NULL) {
        return -1;
    }
    pm_db_busy_is_routine(db);
    allowed = pace_allows(db, p);
    if (allowed > 0 && !apr_atomic_read32(&relay_is_down) && !pm_metrics_mail_held()) {
        long long now = pm_now_sec(NULL);
        if (pm_db_select(db, PM_SQL_OUTBOX_DUE_COUNT, &rows, pm_arg_int(p, now),
                         pm_arg_int(p, now), pm_arg_int(p, BATCH_MAX * connections))
            == APR_SUCCESS) {
            *due = (int)pm_row_int(pm_first_row(rows), COUNT_N, -1);
        }
    }
    pm_db_close(db);
    return allowed;
}

/* The batch each sender of a stretch takes: the due emails spread over the
 * connections (against a relay that takes 50 ms a message, 6 due go out as 2 on
 * each of 3 connections, not 6 on one), at most BATCH_MAX. */
static int share_of(int due, int connections)
{
    int share = (due + connections - 1) / connections;

    return due < 0 || share > BATCH_MAX ? BATCH_MAX : share < 1 ? 1 : share;
}

/* How many senders a stretch starts: one per share of the due emails (4 due over 3
 * connections: two senders of 2, not a third whose claim finds nothing; none due:
 * one, whose claim says the queue is dry), every connection when they were not
 * counted. */
static int senders_for(int due, int share, int connections)
{
    int n = due < 0 ? connections : due == 0 ? 1 : (due + share - 1) / share;

    return n < connections ? n : connections;
}

/* A drain: stretches of PortalMailConnections senders, each with the pace's
 * allowance at its start and the due emails spread over them, until the queue is dry
 * (bounded: DRAIN_BATCHES batches per connection, then the tick's other work and the
 * next pass). It starts with one pass alone when fewer than two emails are due, or
 * none was counted: the relay was down (that pass is the probe: one email), a mail
 * configuration error holds the queue, or the database did not answer (claim_batch
 * applies the pace and the hold itself); after that pass, stretches only when it
 * found a full batch. */
#define DRAIN_BATCHES 50

static void run_passes(server_rec *s, apr_pool_t *pool)
{
    int connections = mail_connections(s), more = 1, first = 1;
    int left = DRAIN_BATCHES * BATCH_MAX * connections;
    apr_pool_t *p;

    while (more && left > 0 && apr_pool_create(&p, pool) == APR_SUCCESS) {
        int due, allowed = stretch_plan(s, p, connections, &due);
        if (first && due < 2) {
            int lone = apr_atomic_read32(&relay_is_down) ? 1 : BATCH_MAX;
            more = run_stretch(s, p, 1, lone, lone);
            left -= lone;
        }
        else {
            int share = share_of(due, connections);
            allowed = allowed < left ? allowed : left;
            more = allowed > 0 && run_stretch(s, p, senders_for(due, share, connections),
                                              allowed, share);
            left -= allowed;
        }
        first = 0;
        apr_pool_destroy(p);          /* the stretch's threads go with it */
    }
    close_slot_connections(connections);
}

/* When the next pass is due: when the earliest queued email that no pass holds
 * comes due (a retry's backoff ends, rows a stopped pass gave back), at least
 * NEXT_PASS_MIN and at most the interval from now, so neither waits for the next
 * poll when no commit rings. While the relay is down or a mail configuration error
 * holds the queue, or the database does not answer, every interval (each pass is a
 * probe). */
#define NEXT_PASS_MIN apr_time_from_sec(1)

static apr_time_t next_pass_at(server_rec *s, apr_pool_t *pool, apr_interval_time_t interval)
{
    apr_time_t now = apr_time_now(), at = now + interval;
    apr_array_header_t *rows;
    apr_pool_t *p;
    pm_db *db;

    if (apr_atomic_read32(&relay_is_down) || pm_metrics_mail_held()
        || apr_pool_create(&p, pool) != APR_SUCCESS) {
        return at;
    }
    if ((db = pm_db_open(s, p)) != NULL) {
        long long sec = pm_now_sec(NULL);
        pm_db_busy_is_routine(db);
        if (pm_db_select(db, PM_SQL_OUTBOX_NEXT_DUE, &rows, pm_arg_int(p, sec)) == APR_SUCCESS
            && pm_row_str(pm_first_row(rows), NEXT_DUE_AT) != NULL) {
            apr_time_t due = now + apr_time_from_sec(pm_row_int(pm_first_row(rows),
                                                                NEXT_DUE_AT, sec) - sec);
            if (due < now + NEXT_PASS_MIN) {
                due = now + NEXT_PASS_MIN;
            }
            if (due < at) {
                at = due;
            }
        }
        pm_db_close(db);
    }
    apr_pool_destroy(p);
    return at;
}

/* One call of mod_watchdog (at its start, so a queue left by the last run goes out
 * at once, and then every TICK_EVERY, its own slice): for up to
 * TICK_SPAN, a pass when one is due (next_pass_at, kept across calls) and one at
 * once whenever a commit rings (pm_outbox_wake.c): a ring makes the next pass due
 * now, so one read just as the span ends is served by the next call, not forgotten
 * until the next poll. The wait is cut in WAIT_SLICE pieces so a stopping child is
 * seen. Between calls a ring waits in the socket for the next call. */
#define TICK_SPAN   apr_time_from_sec(2)
#define WAIT_SLICE  apr_time_from_msec(50)
#define TICK_EVERY  apr_time_from_msec(100)   /* mod_watchdog's own slice */

static apr_time_t next_pass;     /* the worker thread's: the next pass by the clock */

/* Whether the child has finished its child_init, waiting for it until `until` */
static int child_ready(apr_time_t until)
{
    while (!apr_atomic_read32(&outbox_child_ready)) {
        if (apr_atomic_read32(&outbox_stopping) || apr_time_now() >= until) {
            return 0;
        }
        apr_sleep(READY_SLICE);
    }
    return 1;
}

static apr_status_t outbox_tick(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    pm_server_conf *conf = pm_server_config(s);
    apr_interval_time_t interval = apr_time_from_msec(
        conf->outbox_interval_ms != PM_UNSET ? conf->outbox_interval_ms
                                             : PM_DEFAULT_OUTBOX_INTERVAL);
    apr_time_t now = apr_time_now(), until = now + TICK_SPAN;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        pm_outbox_wake_close();
        return APR_SUCCESS;
    }
    if (!child_ready(until)) {
        return APR_SUCCESS;                  /* the next tick looks again */
    }
    if (!pm_outbox_wake_hold(s)) {
        return APR_SUCCESS;                  /* another child runs the worker */
    }
    while (!apr_atomic_read32(&outbox_stopping) && now < until) {
        if (now >= next_pass) {
            if (!pass_begin()) {
                break;
            }
            run_passes(s, pool);
            pm_reviews_majority_sweep(s, pool);     /* at most every few seconds */
            pm_notices_pass(s, pool);               /* likewise */
            pm_audit_head_pass(s, pool);            /* hourly */
            next_pass = next_pass_at(s, pool, interval);
            apr_atomic_set32(&outbox_in_pass, 0);
        }
        now = apr_time_now();
        if (pm_outbox_wake_wait(s, next_pass - now < WAIT_SLICE
                                   ? (next_pass > now ? next_pass - now : 0) : WAIT_SLICE)) {
            next_pass = now;      /* a ring read as the span ends is this call's or the next's */
        }
        now = apr_time_now();
    }
    return APR_SUCCESS;
}

static apr_status_t outbox_child_exit(void *data)
{
    server_rec *s = data;
    int wait_sec = pm_outbox_stop_wait_sec(s);
    int waited;

    apr_atomic_set32(&outbox_stopping, 1);
    for (waited = 0; apr_atomic_read32(&outbox_in_pass) && waited < wait_sec * 20; waited++) {
        apr_sleep(apr_time_from_msec(50));
    }
    return APR_SUCCESS;
}

void pm_outbox_child_init(apr_pool_t *pchild, server_rec *s)
{
    make_slots(pchild, mail_connections(s));
    apr_atomic_set32(&outbox_stopping, 0);
    apr_pool_pre_cleanup_register(pchild, s, outbox_child_exit);
}

void pm_outbox_child_ready(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    apr_atomic_set32(&outbox_child_ready, 1);
}

int pm_outbox_register(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *wd = NULL;

    if (get_instance == NULL || register_callback == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00054)
                     "mod_portal_manager needs mod_watchdog for email delivery "
                     "(LoadModule watchdog_module, or an httpd with it built in)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (pm_server_config(s)->token_secret == NULL && !fallback_secret_ready) {
        if (apr_generate_random_bytes(fallback_secret, sizeof(fallback_secret)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00337)
                         "no randomness for the invitation links' secret");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        fallback_secret_ready = 1;
    }
    if (pm_smtp_global_init() != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00055) "curl_global_init failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* not mod_watchdog's singleton: its next holder sleeps 10 s after taking the
     * mutex, so a killed worker's child left the queue alone that long. Every child's
     * thread ticks; the one holding the wake socket's name works (pm_outbox_wake.c) */
    if (get_instance(&wd, "portal-manager-outbox", 0, 0, pconf) != APR_SUCCESS
        || register_callback(wd, TICK_EVERY, s, outbox_tick) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00056)
                     "could not start the delivery worker");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}
