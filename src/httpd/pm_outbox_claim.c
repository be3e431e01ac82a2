/* pm_outbox_claim.c — the delivery worker's hold on its rows (pm_outbox_claim.h):
 * claim under a per-pass token, lease renewal before each message, per-message
 * outcomes with retries, release. A row is only ever written by the pass whose
 * token it carries, so two workers (two httpd generations, two instances) never
 * work the same row even when one of them outlived its lease. */
#include "pm_outbox_claim.h"
#include "pm_audit.h"
#include "pm_audit_group.h"
#include "pm_metrics.h"
#include "pm_store.h"
#include "pm_text.h"
#include "pm_token.h"

APLOG_USE_MODULE(portal_manager);

#define LEASE_SLACK_SEC  15       /* beyond one message: the outcome's retries */
#define RENEW_EVERY_SEC  3        /* how often a hold renews all the pass's rows */
#define RECORD_TRIES     12       /* about 8 s of waiting in all */
#define RETRY_CAP_SEC    3600

static int effective_timeout(const pm_server_conf *conf)
{
    return conf->mail_timeout != PM_UNSET ? conf->mail_timeout : PM_DEFAULT_MAIL_TIMEOUT;
}

int pm_outbox_pass_init(pm_outbox_pass *ps, server_rec *s, apr_pool_t *p)
{
    const char *claim = pm_random_hex(p, 16);

    if (claim == NULL) {
        return 0;
    }
    ps->s = s;
    ps->p = p;
    ps->claim = claim;
    ps->timeout_sec = effective_timeout(pm_server_config(s));
    /* a message takes at most the SMTP timeout (libcurl's CURLOPT_TIMEOUT covers
     * the connect too); the lease is renewed before every message */
    ps->lease_sec = ps->timeout_sec + LEASE_SLACK_SEC;
    return 1;
}

int pm_outbox_stop_wait_sec(server_rec *s)
{
    return effective_timeout(pm_server_config(s)) + LEASE_SLACK_SEC;
}

int pm_outbox_claim(pm_outbox_pass *ps, pm_db *db, int max)
{
    apr_pool_t *p = ps->p;
    const char *now = pm_arg_int(p, pm_now_sec(NULL));
    int claimed = 0;
    pm_sql_id claim = pm_db_is_pgsql(db) ? PM_SQL_OUTBOX_CLAIM_PGSQL : PM_SQL_OUTBOX_CLAIM;
    const char *lease = pm_arg_int(p, pm_now_sec(NULL) + ps->lease_sec);
    apr_status_t rv = claim == PM_SQL_OUTBOX_CLAIM_PGSQL
        ? pm_db_exec(db, claim, &claimed, now, now, apr_itoa(p, max), ps->claim, lease)
        : pm_db_exec(db, claim, &claimed, ps->claim, lease, now, now, apr_itoa(p, max), now);

    if (rv != APR_SUCCESS) {
        return -1;
    }
    ps->renewed_at = pm_now_sec(NULL);
    return claimed;
}

/* A hold: at `at`, on all the pass's rows (a renewal) or on d's alone. Renewing
 * every row before every message rewrote up to 20 rows per email (on PostgreSQL a
 * fifth of the drain's time); between renewals d's own row is what a lost lease would
 * show. A renewal every RENEW_EVERY_SEC leaves every held row at least
 * lease_sec - RENEW_EVERY_SEC (PortalMailTimeout + 12 s) when a message starts,
 * more than the message and its outcome's retries take. */
typedef struct {
    long long at;
    int all;
} hold_kind;

static hold_kind hold_now(const pm_outbox_pass *ps)
{
    hold_kind k;

    k.at = pm_now_sec(NULL);
    k.all = k.at - ps->renewed_at >= RENEW_EVERY_SEC;
    return k;
}

/* The hold's statement; *held: how many rows it found. */
static apr_status_t hold_rows(pm_db *db, pm_outbox_pass *ps, const pm_delivery *d,
                              hold_kind k, int *held)
{
    apr_pool_t *p = ps->p;
    const char *oid = pm_arg_int(p, d->outbox_id);
    const char *lease = pm_arg_int(p, k.at + ps->lease_sec);

    return k.all ? pm_db_exec(db, PM_SQL_OUTBOX_HOLD, held, lease, oid, oid, d->msg.message_id,
                              ps->claim)
                 : pm_db_exec(db, PM_SQL_OUTBOX_HOLD_ONE, held, lease, d->msg.message_id, oid,
                              ps->claim);
}

/* 1 when the hold found every row it was for (held -1: not read): all `remaining` at
 * a renewal (which then counts from k.at), else d's own. */
static int hold_kept(pm_outbox_pass *ps, const pm_delivery *d, hold_kind k, int held,
                     int remaining)
{
    if (held != (k.all ? remaining : 1)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ps->s, PM_LOGNO(00330)
                     PM_OUTBOX_LOG "this worker holds %d of the %d row(s) it checked "
                     "(%d unsent); it stops and leaves them to the next pass",
                     (apr_int64_t)d->outbox_id, held < 0 ? 0 : held,
                     k.all ? remaining : 1, remaining);
        return 0;
    }
    if (k.all) {
        ps->renewed_at = k.at;
    }
    return 1;
}

int pm_outbox_hold(pm_outbox_pass *ps, const pm_delivery *d, int remaining)
{
    pm_db *db = pm_db_open(ps->s, ps->p);
    hold_kind k = hold_now(ps);
    int held = 0;

    if (db == NULL) {
        return 0;
    }
    if (hold_rows(db, ps, d, k, &held) != APR_SUCCESS) {
        held = -1;
    }
    pm_db_close(db);
    return hold_kept(ps, d, k, held, remaining);
}

void pm_outbox_release(pm_outbox_pass *ps, long long refund_id, const char *reason)
{
    pm_db *db = pm_db_open(ps->s, ps->p);

    if (db == NULL) {
        return;                           /* the lease runs out instead */
    }
    pm_db_exec(db, PM_SQL_OUTBOX_RELEASE, NULL, pm_arg_int(ps->p, refund_id), reason, ps->claim);
    pm_db_close(db);
}

void pm_outbox_give_back(pm_db *db, pm_outbox_pass *ps, long long outbox_id)
{
    pm_db_exec(db, PM_SQL_OUTBOX_RETRY, NULL, pm_arg_int(ps->p, pm_now_sec(NULL)), NULL,
               pm_arg_int(ps->p, outbox_id), ps->claim);
}

void pm_outbox_give_up(pm_db *db, pm_outbox_pass *ps, long long outbox_id, const char *why)
{
    pm_db_exec(db, PM_SQL_OUTBOX_FAILED, NULL, why, pm_arg_int(ps->p, outbox_id), ps->claim);
}

/* Waits before try n (1, 2, ...) of a write that failed: 100 ms doubling to 1 s. */
static void back_off(int n)
{
    int ms = 100 << (n < 4 ? n - 1 : 3);

    apr_sleep(apr_time_from_msec(ms > 1000 ? 1000 : ms));
}

void pm_outbox_count_send(void *ctx)
{
    pm_delivery *d = ctx;
    pm_outbox_pass *ps = d->pass;
    int n;

    if (d->invitation_id <= 0) {
        return;                           /* a test email counts for nothing */
    }
    for (n = 0; n < 3 && !d->counted; n++) {
        pm_db *db;
        if (n > 0) {
            back_off(n);
        }
        db = pm_db_open(ps->s, ps->p);
        if (db != NULL && pm_db_exec(db, PM_SQL_INVITATION_COUNT_SEND, NULL,
                                     pm_arg_int(ps->p, d->invitation_id)) == APR_SUCCESS) {
            d->counted = 1;
        }
        if (db != NULL) {
            pm_db_close(db);
        }
    }
    if (!d->counted) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ps->s, PM_LOGNO(00334)
                     PM_OUTBOX_LOG "this email was not counted in the invitation's "
                     "send_count (the database did not answer)", (apr_int64_t)d->outbox_id);
    }
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

typedef enum { OUTCOME_SENT, OUTCOME_RETRY, OUTCOME_FAILED } outcome;

static outcome outcome_of(pm_server_conf *conf, const pm_delivery *d)
{
    int max_attempts = conf->outbox_max_attempts != PM_UNSET ? conf->outbox_max_attempts
                                                             : PM_DEFAULT_OUTBOX_ATTEMPTS;

    if (d->result == PM_SEND_OK) {
        return OUTCOME_SENT;
    }
    return d->result == PM_SEND_RETRY && d->attempts < max_attempts ? OUTCOME_RETRY
                                                                     : OUTCOME_FAILED;
}

/* An email whose outcome is audited: an invitation's, or the notice of an address
 * change (issue 14); not a champion's test email. */
static int audited_email(const pm_delivery *d)
{
    return d->invitation_id > 0
           || strcmp(pm_row_str(d->row, DUE_PURPOSE), "address_notice") == 0;
}

/* One audit row as the system about an invitation's email or an address notice (staff
 * notices read it), in the outcome's transaction: action, the outbox row,
 * {invitation_id, attempts} (a notice: {purpose: "address_notice", attempts}) and the
 * rest of the detail (extra: "" or ",\"key\":value"). The reply is not in it. */
static apr_status_t audit_email(pm_db *db, apr_pool_t *p, const pm_delivery *d,
                                const char *now, const char *action, const char *extra)
{
    const char *args[PM_AUDIT_ARGS] = { 0 };

    args[0] = now;
    args[1] = "system";
    args[2] = action;
    args[3] = pm_row_str(d->row, DUE_CLIENT_ID);
    args[4] = pm_arg_int(p, d->outbox_id);
    args[5] = PM_AUDIT_OK;
    args[6] = d->invitation_id > 0
              ? apr_psprintf(p, "{\"invitation_id\":%" APR_INT64_T_FMT ",\"attempts\":%d%s}",
                             (apr_int64_t)d->invitation_id, d->attempts, extra)
              : apr_psprintf(p, "{\"purpose\":\"address_notice\",\"attempts\":%d%s}",
                             d->attempts, extra);
    return pm_audit_group_write(db, p, args);
}

/* An invitation's email that will not be sent. */
static apr_status_t audit_failed(pm_db *db, apr_pool_t *p, const pm_delivery *d,
                                 const char *now)
{
    return audit_email(db, p, d, now, "email.failed", "");
}

/* A retried email that had been given up on went out after all (staff notices tell
 * whoever heard of the failure). Only a retried email asks (attempts > 1): the first
 * try costs nothing. */
static apr_status_t audit_delivered(pm_db *db, apr_pool_t *p, const pm_delivery *d,
                                    const char *now)
{
    const char *client = pm_row_str(d->row, DUE_CLIENT_ID);
    apr_array_header_t *rows;
    apr_status_t rv;

    if (d->attempts < 2 || client == NULL) {
        return APR_SUCCESS;
    }
    rv = pm_db_select(db, PM_SQL_OUTBOX_FAILED_BEFORE, &rows, client,
                      pm_arg_int(p, d->outbox_id));
    if (rv != APR_SUCCESS || pm_row_int(pm_first_row(rows), COUNT_N, 0) == 0) {
        return rv;
    }
    return audit_email(db, p, d, now, "email.delivered", ",\"after_failure\":true");
}

/* One try at writing the outcome: the row (if the pass still holds it), the
 * invitation's sent_at, and send_count taken back for a refused message, and the
 * hold of the pass's next message (if any: one commit, not two), in one
 * transaction. *held: the row was still the pass's; *next_held: the rows the
 * hold found. */
static apr_status_t write_outcome(pm_db *db, pm_outbox_pass *ps, const pm_delivery *d,
                                  outcome o, long long next, int *held,
                                  const pm_delivery *hold_next, hold_kind k, int *next_held)
{
    apr_pool_t *p = ps->p;
    const char *oid = pm_arg_int(p, d->outbox_id), *iid = pm_arg_int(p, d->invitation_id);
    const char *now = pm_arg_int(p, pm_now_sec(NULL));
    apr_status_t rv = pm_db_begin(db);

    *held = 0;
    if (rv == APR_SUCCESS && o == OUTCOME_SENT) {
        rv = pm_db_exec(db, PM_SQL_OUTBOX_SENT, held, now, oid, ps->claim);
        if (rv == APR_SUCCESS && *held == 1 && d->invitation_id > 0) {
            rv = pm_db_exec(db, PM_SQL_INVITATION_SENT, NULL, now, iid);
        }
        if (rv == APR_SUCCESS && *held == 1 && audited_email(d)) {
            rv = audit_delivered(db, p, d, now);
        }
    }
    else if (rv == APR_SUCCESS && o == OUTCOME_RETRY) {
        rv = pm_db_exec(db, PM_SQL_OUTBOX_RETRY, held, pm_arg_int(p, next), d->error, oid,
                        ps->claim);
    }
    else if (rv == APR_SUCCESS) {
        rv = pm_db_exec(db, PM_SQL_OUTBOX_FAILED, held, d->error, oid, ps->claim);
        if (rv == APR_SUCCESS && *held == 1 && audited_email(d)) {
            rv = audit_failed(db, p, d, now);
        }
    }
    if (rv == APR_SUCCESS && d->counted && d->data == PM_DATA_REFUSED) {
        rv = pm_db_exec(db, PM_SQL_INVITATION_UNCOUNT_SEND, NULL, iid);
    }
    if (rv == APR_SUCCESS && hold_next) {
        rv = hold_rows(db, ps, hold_next, k, next_held);
    }
    if (rv == APR_SUCCESS) {
        rv = pm_db_commit(db);
    }
    else {
        pm_db_rollback(db);
    }
    return rv;
}

static void log_outcome(pm_outbox_pass *ps, const pm_delivery *d, outcome o, long long next)
{
    server_rec *s = ps->s;
    apr_int64_t oid = d->outbox_id;

    if (o == OUTCOME_SENT) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PM_LOGNO(00051)
                     PM_OUTBOX_LOG "sent (attempt %d)", oid, d->attempts);
    }
    else if (o == OUTCOME_RETRY) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PM_LOGNO(00052)
                     PM_OUTBOX_LOG "attempt %d failed, retrying in %ds: %s", oid,
                     d->attempts, (int)(next - pm_now_sec(NULL)), d->error);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00053)
                     PM_OUTBOX_LOG "delivery failed after %d attempt(s): %s", oid,
                     d->attempts, d->error);
    }
}

int pm_outbox_record(pm_outbox_pass *ps, pm_delivery *d, const pm_delivery *hold_next,
                     int next_remaining, int *next_held)
{
    pm_server_conf *conf = pm_server_config(ps->s);
    outcome o = outcome_of(conf, d);
    long long next = pm_now_sec(NULL) + (o == OUTCOME_RETRY ? retry_delay(conf, d->attempts) : 0);
    hold_kind k = { 0, 0 };
    int n, held = 0, next_rows = -1;

    *next_held = 0;

    if (d->error != NULL) {
        d->error = pm_mask_reply(ps->p, d->error, d->msg.to_addr);   /* stored and logged */
    }
    for (n = 0; n < RECORD_TRIES; n++) {
        pm_db *db;
        apr_status_t rv;
        if (n > 0) {
            back_off(n);
        }
        if ((db = pm_db_open(ps->s, ps->p)) == NULL) {
            rv = APR_EGENERAL;
        }
        else {
            k = hold_now(ps);
            rv = write_outcome(db, ps, d, o, next, &held, hold_next, k, &next_rows);
            pm_db_close(db);
        }
        if (rv == APR_SUCCESS) {
            break;
        }
        if (n == 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ps->s, PM_LOGNO(00331)
                         PM_OUTBOX_LOG "the outcome of attempt %d is not recorded yet "
                         "(the database did not answer); retrying",
                         (apr_int64_t)d->outbox_id, d->attempts);
        }
    }
    if (n == RECORD_TRIES) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ps->s, PM_LOGNO(00332)
                     PM_OUTBOX_LOG "the outcome of attempt %d could not be recorded; when "
                     "its lease ends the email is sent again with the same link",
                     (apr_int64_t)d->outbox_id, d->attempts);
        return 0;
    }
    *next_held = hold_next && hold_kept(ps, hold_next, k, next_rows, next_remaining);
    if (held != 1) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ps->s, PM_LOGNO(00333)
                     PM_OUTBOX_LOG "another worker took this row over; attempt %d is "
                     "left unrecorded (its link is the same)", (apr_int64_t)d->outbox_id,
                     d->attempts);
        return 1;
    }
    log_outcome(ps, d, o, next);
    pm_metrics_worker_outcome(o == OUTCOME_SENT, o == OUTCOME_RETRY, o == OUTCOME_FAILED, d->error);
    return 1;
}
