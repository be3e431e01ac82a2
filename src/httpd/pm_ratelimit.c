/* pm_ratelimit.c — the shared-memory side of the recipient API's rate limits: one
 * pm_rate table in anonymous shared memory and one global mutex per generation
 * (created in post_config, inherited by the children, mutex reopened in child_init),
 * and the 429 answer. The bucket arithmetic is pm_rate.c's. */
#include "pm_ratelimit.h"
#include "pm_rate.h"
#include "pm_token.h"

#include "apr_shm.h"
#include "apr_global_mutex.h"
#include "util_mutex.h"
#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

#define RL_CELLS 16384           /* 16384 x 40 bytes: 640 KiB */

static const char *const rl_mutex_type = "portal-ratelimit";
static apr_shm_t *rl_shm;
static pm_rate_table *rl_table;
static apr_global_mutex_t *rl_mutex;

int pm_ratelimit_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, rl_mutex_type, NULL, APR_LOCK_DEFAULT, 0);
}

/* pconf is cleared on every restart: forget its table and mutex with it. */
static apr_status_t rl_forget(void *unused)
{
    rl_table = NULL;
    rl_mutex = NULL;
    rl_shm = NULL;
    return APR_SUCCESS;
}

int pm_ratelimit_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_size_t bytes = pm_rate_table_bytes(RL_CELLS);
    server_rec *sp;
    apr_status_t rv;
    int zone = 0;

    for (sp = s; sp; sp = sp->next) {
        pm_server_config(sp)->rate_zone = zone++;
    }
    apr_pool_cleanup_register(pconf, NULL, rl_forget, apr_pool_cleanup_null);
    rv = apr_shm_create(&rl_shm, bytes, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PM_LOGNO(00171)
                     "mod_portal_manager: no shared memory (%" APR_SIZE_T_FMT " bytes) "
                     "for the recipient rate limits", bytes);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rl_table = pm_rate_table_init(apr_shm_baseaddr_get(rl_shm), apr_shm_size_get(rl_shm),
                                  RL_CELLS);
    rv = ap_global_mutex_create(&rl_mutex, NULL, rl_mutex_type, NULL, s, pconf, 0);
    if (rl_table == NULL || rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PM_LOGNO(00172)
                     "mod_portal_manager: cannot set up the recipient rate limits "
                     "(mutex %s)", rl_mutex_type);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void pm_ratelimit_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (rl_mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&rl_mutex, apr_global_mutex_lockfile(rl_mutex), pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, PM_LOGNO(00173)
                     "mod_portal_manager: cannot reopen the rate-limit mutex in this child; "
                     "recipient requests are not rate limited here");
        rl_mutex = NULL;
    }
}

/* The table key of (this server, kind, identity): the first 128 bits (as hex) of a
 * SHA-256, so neither a client address nor a token hash sits in shared memory as it is. */
static void rate_key(pm_req *q, const char *kind, const char *identity, unsigned char *key)
{
    const char *text = apr_psprintf(q->r->pool, "%d\n%s\n%s",
                                    pm_server_config(q->r->server)->rate_zone, kind, identity);

    memcpy(key, pm_token_hash(q->r->pool, text), PM_RATE_KEY_LEN);
}

static const char *body_token_hash(pm_req *q)
{
    json_t *tok = pm_http_body_field(q, "token");

    if (!json_is_string(tok) || !pm_token_well_formed(json_string_value(tok))) {
        return NULL;
    }
    return pm_token_hash(q->r->pool, json_string_value(tok));
}

static int conf_or(int v, int dflt)
{
    return v != PM_UNSET ? v : dflt;
}

/* 0 when the client address (then the token) is over its limit; *per_token says which. */
static int take_requests(pm_req *q, apr_interval_time_t *retry, int *per_token)
{
    pm_server_conf *conf = pm_server_config(q->r->server);
    apr_interval_time_t window = apr_time_from_sec(conf_or(conf->rate_window,
                                                           PM_DEFAULT_RATE_WINDOW));
    long ip_limit = conf_or(conf->rate_ip_limit, PM_DEFAULT_RATE_IP_LIMIT);
    long token_limit = conf_or(conf->rate_token_limit, PM_DEFAULT_RATE_TOKEN_LIMIT);
    const char *token_hash = token_limit > 0 ? body_token_hash(q) : NULL;
    unsigned char ip_key[PM_RATE_KEY_LEN], token_key[PM_RATE_KEY_LEN];
    apr_time_t now;
    apr_status_t rv;
    int allowed;

    if (ip_limit <= 0 && token_hash == NULL) {
        return 1;
    }
    rate_key(q, "ip", q->r->useragent_ip ? q->r->useragent_ip : "-", ip_key);
    if (token_hash) {
        rate_key(q, "token", token_hash, token_key);
    }
    if ((rv = apr_global_mutex_lock(rl_mutex)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r, PM_LOGNO(00174)
                      "rate-limit mutex lock failed; request not rate limited");
        return 1;
    }
    /* the clock is read holding the lock: a time read before it may be older than a
     * cell another child has just advanced, and the wait would come out longer than one
     * request's share of the window */
    now = apr_time_now();
    *per_token = 0;
    allowed = pm_rate_table_hit(rl_table, ip_key, now, ip_limit, window, retry);
    if (allowed && token_hash) {
        *per_token = 1;
        allowed = pm_rate_table_hit(rl_table, token_key, now, token_limit, window, retry);
    }
    apr_global_mutex_unlock(rl_mutex);
    return allowed;
}

int pm_ratelimit_recipient(pm_req *q)
{
    apr_interval_time_t retry = 0;
    int per_token = 0;
    long secs;

    if (rl_table == NULL || rl_mutex == NULL || take_requests(q, &retry, &per_token)) {
        return PM_NEXT;
    }
    secs = pm_rate_retry_seconds(retry);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00175)
                  "recipient API rate limit reached (per %s; retry in %ld s)",
                  per_token ? "invitation token" : "client address", secs);
    apr_table_setn(q->r->err_headers_out, "Retry-After", apr_ltoa(q->r->pool, secs));
    return pm_http_send_error(q, HTTP_TOO_MANY_REQUESTS, "rate_limited",
        apr_psprintf(q->r->pool, "%s Please wait %ld second%s and try again.",
                     per_token ? "This invitation link has been tried too many times in a "
                                 "short while."
                               : "Too many requests came from your network in a short while.",
                     secs, secs == 1 ? "" : "s"), NULL);
}
