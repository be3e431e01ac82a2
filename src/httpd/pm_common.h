/* pm_common.h — what every httpd-facing file shares: the module declaration,
 * the server and directory configuration records, and the log-id helper. */
#ifndef PM_COMMON_H
#define PM_COMMON_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "pm_config_parse.h"

extern module AP_MODULE_DECLARE_DATA portal_manager_module;

#define PM_UNSET (-1)

/* Stable log message ids: "PM00001: ...". Numbers are never reused. */
#define PM_LOGNO(n) "PM" #n ": "

/* Server configuration: the Portal* directives (docs/configuration.md). Every field starts
 * "unset" (NULL or PM_UNSET) so that merging and "missing" checks are explicit. */
typedef struct {
    const char *invitation_url;
    int invitation_url_https;
    const char *login_url;
    int login_url_https;
    const char *staff_url;         /* PortalStaffURL: the staff page, for links in notices */
    int staff_url_https;
    int allow_insecure_urls;
    const char *mail_server;
    int mail_tls;                  /* pm_tls_mode or PM_UNSET */
    const char *mail_user;
    const char *mail_password_file;
    const char *mail_password;     /* read from the file at config time, never logged */
    const char *mail_from;         /* as written, for messages */
    const char *mail_from_name;
    const char *mail_from_addr;
    const char *mail_ca_file;      /* PortalMailCAFile: CA bundle for the relay's certificate */
    const char *mail_ca_path;      /* PortalMailCAPath: a hashed CA directory */
    const char *mail_helo;         /* PortalMailHelo; NULL: the main server's ServerName */
    const char *bounce_addr;       /* PortalMailBounceAddress; NULL: envelope sender = From */
    const char *token_secret_file;
    const char *token_secret;      /* PortalTokenSecretFile's line, read at config time */
    const char *catalog_dir;       /* PortalCatalogDir (main server); NULL: PM_CATALOG_DIR */
    int mail_timeout;              /* seconds */
    int db_timeout;                /* PortalDBTimeout: seconds a statement may wait (0: off) */
    int outbox_interval_ms;
    int sweep_interval;            /* PortalSweepInterval: seconds between the worker's sweeps */
    int mail_connections;          /* PortalMailConnections: passes side by side */
    int outbox_max_attempts;
    int outbox_retry_delay;        /* seconds before the first retry */
    int allow_insecure_mail;       /* SMTP AUTH without TLS allowed (development) */
    int rate_ip_limit;             /* recipient API requests per window per client address */
    int rate_token_limit;          /* ... per invitation token */
    int rate_window;               /* seconds */
    int rate_zone;                 /* this server's number, set in post_config */
} pm_server_conf;

/* Directory configuration. */
typedef struct {
    long long max_body_size;       /* PM_UNSET until set */
} pm_dir_conf;

#define PM_DEFAULT_MAIL_TLS          PM_TLS_REQUIRED
#define PM_DEFAULT_MAIL_TIMEOUT      30
#define PM_DEFAULT_DB_TIMEOUT        2
#define PM_DEFAULT_OUTBOX_INTERVAL   500
#define PM_DEFAULT_SWEEP_INTERVAL    5
#define PM_DEFAULT_MAIL_CONNECTIONS  3
#define PM_MAX_MAIL_CONNECTIONS      20   /* PortalMailConnections' upper limit */
#define PM_DEFAULT_OUTBOX_ATTEMPTS   8
#define PM_DEFAULT_MAX_BODY          65536
#define PM_DEFAULT_OUTBOX_RETRY_DELAY 60
#define PM_MIN_TOKEN_SECRET          32   /* characters of PortalTokenSecretFile */
#define PM_DEFAULT_RATE_IP_LIMIT     30
#define PM_DEFAULT_RATE_TOKEN_LIMIT  10
#define PM_DEFAULT_RATE_WINDOW       60

static APR_INLINE pm_server_conf *pm_server_config(server_rec *s)
{
    return ap_get_module_config(s->module_config, &portal_manager_module);
}

/* PortalSweepInterval, or its default: how often the delivery worker looks for staff
 * notices to send (pm_notices.c) and grants that end at 18 (pm_reviews.c) */
static APR_INLINE apr_interval_time_t pm_sweep_interval(server_rec *s)
{
    int seconds = pm_server_config(s)->sweep_interval;

    return apr_time_from_sec(seconds != PM_UNSET ? seconds : PM_DEFAULT_SWEEP_INTERVAL);
}

/* NULL when no Portal directive appears in this request's sections. */
static APR_INLINE pm_dir_conf *pm_dir_config(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &portal_manager_module);
}

/* The clock, in whole seconds since the epoch. Given a request, its start
 * (r->request_time), so every row one request writes carries one time; given
 * NULL (the delivery worker), the time now. */
static APR_INLINE long long pm_now_sec(const request_rec *r)
{
    return (long long)apr_time_sec(r ? r->request_time : apr_time_now());
}

#endif
