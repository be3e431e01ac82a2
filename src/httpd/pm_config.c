/* pm_config.c — the Portal* directives: parsing at config time (each bad value is
 * one configtest line naming the directive), create/merge with explicit unset
 * sentinels, and the whole-configuration checks run before "Syntax OK". */
#include "pm_config.h"
#include "pm_config_dbd.h"
#include "pm_catalog.h"
#include "pm_locale.h"
#include "pm_route.h"
#include "pm_text.h"

#include "apr_file_io.h"
#include "http_core.h"

APLOG_USE_MODULE(portal_manager);

#define PM_MAX_SECRET 4096

#ifndef PM_CATALOG_DIR
#define PM_CATALOG_DIR "/usr/share/mod_portal_manager/htdocs/invitation/i18n"
#endif

/* The catalogs, read by the check_config hook of each configuration pass (before
 * any child or thread exists) and living as long as that configuration. */
static const pm_catalog *loaded_catalog = NULL;

void *pm_config_create_server(apr_pool_t *p, server_rec *s)
{
    pm_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->invitation_url_https = PM_UNSET;
    conf->login_url_https = PM_UNSET;
    conf->staff_url_https = PM_UNSET;
    conf->allow_insecure_urls = PM_UNSET;
    conf->mail_tls = PM_UNSET;
    conf->mail_timeout = PM_UNSET;
    conf->db_timeout = PM_UNSET;
    conf->outbox_interval_ms = PM_UNSET;
    conf->sweep_interval = PM_UNSET;
    conf->mail_connections = PM_UNSET;
    conf->outbox_max_attempts = PM_UNSET;
    conf->outbox_retry_delay = PM_UNSET;
    conf->allow_insecure_mail = PM_UNSET;
    conf->rate_ip_limit = PM_UNSET;
    conf->rate_token_limit = PM_UNSET;
    conf->rate_window = PM_UNSET;
    return conf;
}

#define MERGE_PTR(field) conf->field = add->field ? add->field : base->field
#define MERGE_INT(field) conf->field = add->field != PM_UNSET ? add->field : base->field

void *pm_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    pm_server_conf *base = basev, *add = addv;
    pm_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    const pm_server_conf *from;

    /* a directive that sets several fields: all of them from the config that set it */
    from = add->invitation_url ? add : base;
    conf->invitation_url = from->invitation_url;
    conf->invitation_url_https = from->invitation_url_https;
    from = add->login_url ? add : base;
    conf->login_url = from->login_url;
    conf->login_url_https = from->login_url_https;
    from = add->staff_url ? add : base;
    conf->staff_url = from->staff_url;
    conf->staff_url_https = from->staff_url_https;
    MERGE_INT(allow_insecure_urls);
    MERGE_PTR(mail_server);
    MERGE_INT(mail_tls);
    MERGE_PTR(mail_user);
    from = add->mail_password_file ? add : base;
    conf->mail_password_file = from->mail_password_file;
    conf->mail_password = from->mail_password;
    from = add->mail_from ? add : base;
    conf->mail_from = from->mail_from;
    conf->mail_from_name = from->mail_from_name;
    conf->mail_from_addr = from->mail_from_addr;
    from = add->token_secret_file ? add : base;
    conf->token_secret_file = from->token_secret_file;
    conf->token_secret = from->token_secret;
    MERGE_PTR(mail_ca_file);
    MERGE_PTR(mail_ca_path);
    MERGE_PTR(mail_helo);
    MERGE_PTR(bounce_addr);
    MERGE_INT(mail_timeout);
    MERGE_INT(db_timeout);
    MERGE_INT(outbox_interval_ms);
    MERGE_INT(sweep_interval);
    MERGE_INT(mail_connections);
    MERGE_INT(outbox_max_attempts);
    MERGE_INT(outbox_retry_delay);
    MERGE_INT(allow_insecure_mail);
    MERGE_INT(rate_ip_limit);
    MERGE_INT(rate_token_limit);
    MERGE_INT(rate_window);
    return conf;
}

void *pm_config_create_dir(apr_pool_t *p, char *dir)
{
    pm_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->max_body_size = PM_UNSET;
    return conf;
}

void *pm_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    pm_dir_conf *base = basev, *add = addv;
    pm_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->max_body_size = add->max_body_size != PM_UNSET ? add->max_body_size
                                                         : base->max_body_size;
    return conf;
}

long long pm_config_max_body(request_rec *r)
{
    pm_dir_conf *conf = pm_dir_config(r);

    return conf && conf->max_body_size != PM_UNSET ? conf->max_body_size : PM_DEFAULT_MAX_BODY;
}

/* ---- directive handlers ---------------------------------------------------- */

static const char *directive_error(cmd_parms *cmd, const char *problem)
{
    return apr_psprintf(cmd->pool, "%s %s", cmd->cmd->name, problem);
}

/* The delivery worker, the database's limits and the secrets are one per httpd,
 * the main server's: the same directive in a <VirtualHost> would be silently
 * ignored, so refuse it. */
static const char *main_server_only(cmd_parms *cmd)
{
    if (!cmd->server->is_virtual) {
        return NULL;
    }
    return "is not allowed inside <VirtualHost>: it is one setting for the whole httpd "
           "(the delivery worker, the database and the secrets are the main server's); "
           "set it outside any <VirtualHost>";
}

static pm_server_conf *cmd_server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &portal_manager_module);
}

static const char *set_invitation_url(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *err = pm_parse_web_url(cmd->pool, value, &conf->invitation_url_https);

    if (err) {
        return directive_error(cmd, err);
    }
    conf->invitation_url = value;
    return NULL;
}

static const char *set_login_url(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *err = pm_parse_web_url(cmd->pool, value, &conf->login_url_https);

    if (err) {
        return directive_error(cmd, err);
    }
    conf->login_url = value;
    return NULL;
}

static const char *set_staff_url(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *err = pm_parse_web_url(cmd->pool, value, &conf->staff_url_https);

    if (err) {
        return directive_error(cmd, err);
    }
    conf->staff_url = value;
    return NULL;
}

static const char *set_allow_insecure(cmd_parms *cmd, void *dummy, int flag)
{
    cmd_server_conf(cmd)->allow_insecure_urls = flag;
    return NULL;
}

/* Read from the configuration tree by pm_config_dbd.c (per <VirtualHost>): nothing
 * to keep here. */
static const char *set_allow_other_database(cmd_parms *cmd, void *dummy, int flag)
{
    return NULL;
}

static const char *set_allow_insecure_mail(cmd_parms *cmd, void *dummy, int flag)
{
    const char *err = main_server_only(cmd);

    if (err) {
        return directive_error(cmd, err);
    }
    cmd_server_conf(cmd)->allow_insecure_mail = flag;
    return NULL;
}

static const char *set_mail_server(cmd_parms *cmd, void *dummy, const char *value)
{
    const char *err = main_server_only(cmd);

    if (err == NULL) {
        err = pm_parse_mail_url(cmd->pool, value);
    }

    if (err) {
        return directive_error(cmd, err);
    }
    cmd_server_conf(cmd)->mail_server = value;
    return NULL;
}

static const char *set_mail_tls(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_tls_mode mode;
    const char *err = main_server_only(cmd);

    if (err) {
        return directive_error(cmd, err);
    }
    err = pm_parse_tls_mode(value, &mode);

    if (err) {
        return directive_error(cmd, err);
    }
    cmd_server_conf(cmd)->mail_tls = (int)mode;
    return NULL;
}

static const char *set_mail_user(cmd_parms *cmd, void *dummy, const char *value)
{
    const char *err = main_server_only(cmd);

    if (err) {
        return directive_error(cmd, err);
    }
    if (*value == '\0' || strpbrk(value, "\r\n") != NULL) {
        return directive_error(cmd, "must be a non-empty user name on one line");
    }
    cmd_server_conf(cmd)->mail_user = value;
    return NULL;
}

/* Read the SMTP password now, while httpd still runs as root, so the file can be
 * readable by root only. Trailing line breaks are removed. */
static const char *read_secret_file(apr_pool_t *p, const char *path, const char **secret)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t got = 0;
    apr_status_t rv;
    char *buf, errbuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "'%s' cannot be read: %s", path,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    if (rv != APR_SUCCESS || fi.filetype != APR_REG) {
        apr_file_close(f);
        return apr_psprintf(p, "'%s' is not a regular file", path);
    }
    if (fi.size > PM_MAX_SECRET) {
        apr_file_close(f);
        return apr_psprintf(p, "'%s' is larger than %d bytes", path, PM_MAX_SECRET);
    }
    buf = apr_pcalloc(p, (apr_size_t)fi.size + 1);
    rv = apr_file_read_full(f, buf, (apr_size_t)fi.size, &got);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(p, "'%s' cannot be read: %s", path,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    }
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r')) {
        buf[--got] = '\0';
    }
    if (got == 0) {
        return apr_psprintf(p, "'%s' is empty", path);
    }
    if (strpbrk(buf, "\r\n") != NULL || strlen(buf) != got) {
        return apr_psprintf(p, "'%s' must hold the secret on a single line", path);
    }
    *secret = buf;
    return NULL;
}

/* A secret any local user may read is no longer the practice's alone: said at
 * configtest and start (not refused: a running server must not stop over it). */
static void warn_if_shared(cmd_parms *cmd, const char *path)
{
    apr_finfo_t fi;

    if (apr_stat(&fi, path, APR_FINFO_PROT, cmd->temp_pool) == APR_SUCCESS
        && (fi.protection & (APR_GREAD | APR_WREAD))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server, PM_LOGNO(00605)
                     "%s: '%s' is readable by users other than its owner: chmod 600 it "
                     "(httpd reads it as root)", cmd->cmd->name, path);
    }
}

/* A main-server directive naming a one-line secret file (relative to ServerRoot),
 * read now, as root: *path and *secret, or the error. */
static const char *secret_file_directive(cmd_parms *cmd, const char *value, const char **path,
                                         const char **secret)
{
    const char *err = main_server_only(cmd);

    if (err) {
        return err;
    }
    if ((*path = ap_server_root_relative(cmd->pool, value)) == NULL) {
        return apr_psprintf(cmd->pool, "'%s' is not a valid path", value);
    }
    if ((err = read_secret_file(cmd->pool, *path, secret)) == NULL) {
        warn_if_shared(cmd, *path);
    }
    return err;
}

static const char *set_mail_password_file(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *path, *secret;
    const char *err = secret_file_directive(cmd, value, &path, &secret);

    if (err) {
        return directive_error(cmd, err);
    }
    conf->mail_password_file = path;
    conf->mail_password = secret;
    return NULL;
}

/* The delivery worker's token secret (pm_outbox.c): read as root like the SMTP
 * password; at least PM_MIN_TOKEN_SECRET characters. */
static const char *set_token_secret_file(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *path, *secret;
    const char *err = secret_file_directive(cmd, value, &path, &secret);

    if (err == NULL && (strlen(secret) < PM_MIN_TOKEN_SECRET
                        || strspn(secret, " \t") == strlen(secret))) {
        err = apr_psprintf(cmd->pool, "'%s' must hold at least %d characters, not all "
                           "spaces (e.g. openssl rand -hex 32)", path, PM_MIN_TOKEN_SECRET);
    }
    if (err) {
        return directive_error(cmd, err);
    }
    conf->token_secret_file = path;
    conf->token_secret = secret;
    return NULL;
}

/* The translations' directory (pm_catalog.c), read by pm_config_check. */
static const char *set_catalog_dir(cmd_parms *cmd, void *dummy, const char *value)
{
    if (cmd->server->is_virtual) {
        return "PortalCatalogDir is not allowed inside <VirtualHost>: the catalogs are the "
               "whole server's; set it outside any <VirtualHost>";
    }
    cmd_server_conf(cmd)->catalog_dir = ap_server_root_relative(cmd->pool, value);
    return NULL;
}

static const char *set_mail_from(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *err = main_server_only(cmd);

    if (err == NULL) {
        err = pm_parse_mailbox(cmd->pool, value, &conf->mail_from_name, &conf->mail_from_addr);
    }

    if (err) {
        return directive_error(cmd, err);
    }
    conf->mail_from = value;
    return NULL;
}

/* The CA bundle must be there and hold a PEM certificate when configtest runs: a
 * typo would otherwise show up as every email held for a certificate error. */
static const char *check_ca_file(apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    char buf[8192], errbuf[120];
    apr_size_t got = sizeof(buf) - 1;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);

    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "'%s' cannot be read: %s", path,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    }
    rv = apr_file_read(f, buf, &got);
    apr_file_close(f);
    buf[rv == APR_SUCCESS ? got : 0] = '\0';
    if (strstr(buf, "-----BEGIN CERTIFICATE-----") == NULL) {
        return apr_psprintf(p, "'%s' holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                            path);
    }
    return NULL;
}

static const char *set_mail_ca(cmd_parms *cmd, void *dummy, const char *value)
{
    pm_server_conf *conf = cmd_server_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, value);
    const char *err = main_server_only(cmd);
    int is_dir = cmd->info != NULL;
    apr_finfo_t fi;

    if (err == NULL && path == NULL) {
        err = apr_psprintf(cmd->pool, "'%s' is not a valid path", value);
    }
    if (err == NULL && is_dir
        && (apr_stat(&fi, path, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
            || fi.filetype != APR_DIR)) {
        err = apr_psprintf(cmd->pool, "'%s' is not a directory", path);
    }
    if (err == NULL && !is_dir) {
        err = check_ca_file(cmd->pool, path);
    }
    if (err) {
        return directive_error(cmd, err);
    }
    *(is_dir ? &conf->mail_ca_path : &conf->mail_ca_file) = path;
    return NULL;
}

static const char *set_mail_helo(cmd_parms *cmd, void *dummy, const char *value)
{
    const char *err = main_server_only(cmd);

    if (err == NULL) {
        err = pm_parse_helo_name(value);
    }
    if (err) {
        return directive_error(cmd, err);
    }
    cmd_server_conf(cmd)->mail_helo = value;
    return NULL;
}

/* Bounces come back to bounce_addr's local part + "+ID-MAC" (pm_bounce.c), read by
 * portal-manager-admin bounce. */
static const char *set_bounce_address(cmd_parms *cmd, void *dummy, const char *value)
{
    const char *err = main_server_only(cmd);

    if (err == NULL && (err = pm_email_problem(value)) != NULL) {
        err = apr_psprintf(cmd->pool, "'%s' is not an email address: %s", value, err);
    }
    if (err) {
        return directive_error(cmd, err);
    }
    cmd_server_conf(cmd)->bounce_addr = value;
    return NULL;
}

/* Integer directives share one handler: cmd->info is the field's offset, and the
 * limits come from the table below. */
typedef struct {
    const char *name;
    long long min, max;
    int main_only;               /* read by the delivery worker: main server only */
} int_limits;

static const int_limits pm_int_limits[] = {
    { "PortalMailTimeout",       1, 3600, 1 },
    { "PortalDBTimeout",         0, 600, 1 },
    { "PortalOutboxInterval",    10, 3600000, 1 },
    { "PortalSweepInterval",     1, 3600, 1 },
    { "PortalMailConnections",   1, PM_MAX_MAIL_CONNECTIONS, 1 },
    { "PortalOutboxMaxAttempts", 1, 100, 1 },
    { "PortalOutboxRetryDelay",  1, 86400, 1 },
    { "PortalRecipientIPLimit",    0, 1000000, 0 },
    { "PortalRecipientTokenLimit", 0, 1000000, 0 },
    { "PortalRecipientRateWindow", 1, 86400, 0 },
    { NULL, 0, 0, 0 }
};

static const char *set_server_int(cmd_parms *cmd, void *dummy, const char *value)
{
    const int_limits *lim;
    long long v;
    const char *err;

    for (lim = pm_int_limits; lim->name && strcmp(lim->name, cmd->cmd->name); lim++) {
    }
    if (lim->main_only && (err = main_server_only(cmd)) != NULL) {
        return directive_error(cmd, err);
    }
    err = pm_parse_int_range(value, lim->min, lim->max, &v);
    if (err) {
        return directive_error(cmd, apr_psprintf(cmd->pool,
                               "%s (allowed: %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT ")",
                               err, (apr_int64_t)lim->min, (apr_int64_t)lim->max));
    }
    *(int *)((char *)cmd_server_conf(cmd) + (apr_size_t)cmd->info) = (int)v;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dirconf, const char *value)
{
    pm_dir_conf *conf = dirconf;
    long long v;
    const char *err = pm_parse_int_range(value, 1, 64LL * 1024 * 1024, &v);

    if (err) {
        return directive_error(cmd, apr_psprintf(cmd->pool,
                               "%s (allowed: 1 to 67108864 bytes)", err));
    }
    conf->max_body_size = v;
    return NULL;
}

const command_rec pm_config_directives[] = {
    AP_INIT_TAKE1("PortalInvitationURL", set_invitation_url, NULL, RSRC_CONF,
                  "URL of the invitation page that emails link to (https)"),
    AP_INIT_TAKE1("PortalLoginURL", set_login_url, NULL, RSRC_CONF,
                  "URL where an accepted recipient logs in"),
    AP_INIT_TAKE1("PortalStaffURL", set_staff_url, NULL, RSRC_CONF,
                  "URL of the staff page, which staff notices link to (https)"),
    AP_INIT_FLAG("PortalAllowInsecureURLs", set_allow_insecure, NULL, RSRC_CONF,
                 "On to allow http:// URLs (development only); default Off"),
    AP_INIT_FLAG("PortalAllowOtherDatabase", set_allow_other_database, NULL, RSRC_CONF,
                 "On: this virtual host's DBDParams may name another database than the main "
                 "server's (testing only: its invitation emails are never sent)"),
    AP_INIT_FLAG("PortalAllowInsecureMail", set_allow_insecure_mail, NULL, RSRC_CONF,
                 "On to allow SMTP AUTH without TLS (development only); default Off"),
    AP_INIT_TAKE1("PortalMailServer", set_mail_server, NULL, RSRC_CONF,
                  "smtp://host:port or smtps://host:port"),
    AP_INIT_TAKE1("PortalMailTLS", set_mail_tls, NULL, RSRC_CONF,
                  "STARTTLS policy: none, try or required (default required)"),
    AP_INIT_TAKE1("PortalMailUser", set_mail_user, NULL, RSRC_CONF,
                  "SMTP AUTH user name"),
    AP_INIT_TAKE1("PortalMailPasswordFile", set_mail_password_file, NULL, RSRC_CONF,
                  "file holding the SMTP AUTH password"),
    AP_INIT_TAKE1("PortalMailCAFile", set_mail_ca, NULL, RSRC_CONF,
                  "PEM CA bundle that verifies the mail server's certificate"),
    AP_INIT_TAKE1("PortalMailCAPath", set_mail_ca, (void *)"dir", RSRC_CONF,
                  "directory of hashed CA certificates (c_rehash) for the mail server"),
    AP_INIT_TAKE1("PortalMailHelo", set_mail_helo, NULL, RSRC_CONF,
                  "host name sent in EHLO (default: the main server's ServerName)"),
    AP_INIT_TAKE1("PortalMailBounceAddress", set_bounce_address, NULL, RSRC_CONF,
                  "address bounces go to; each email's envelope sender names it as "
                  "local+ID-MAC@domain (needs PortalTokenSecretFile)"),
    AP_INIT_TAKE1("PortalTokenSecretFile", set_token_secret_file, NULL, RSRC_CONF,
                  "file holding the secret invitation links are derived from"),
    AP_INIT_TAKE1("PortalCatalogDir", set_catalog_dir, NULL, RSRC_CONF,
                  "directory of the per-language catalogs (<code>.json, en.json required)"),
    AP_INIT_TAKE1("PortalMailFrom", set_mail_from, NULL, RSRC_CONF,
                  "From header and envelope sender: \"Name <address>\""),
    AP_INIT_TAKE1("PortalMailTimeout", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, mail_timeout), RSRC_CONF,
                  "seconds one SMTP transaction may take (default 30)"),
    AP_INIT_TAKE1("PortalDBTimeout", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, db_timeout), RSRC_CONF,
                  "seconds one PostgreSQL statement may go unanswered before its "
                  "connection is cut and the request answers 503 (default 2; 0: never)"),
    AP_INIT_TAKE1("PortalOutboxInterval", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, outbox_interval_ms), RSRC_CONF,
                  "milliseconds between outbox checks (default 500)"),
    AP_INIT_TAKE1("PortalSweepInterval", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, sweep_interval), RSRC_CONF,
                  "seconds between the delivery worker's sweeps: staff notices to send, "
                  "representatives' access that ends at the client's 18th birthday "
                  "(default 5)"),
    AP_INIT_TAKE1("PortalMailConnections", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, mail_connections), RSRC_CONF,
                  "SMTP connections the delivery worker sends over at once while more "
                  "than one batch is due (default 3)"),
    AP_INIT_TAKE1("PortalOutboxMaxAttempts", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, outbox_max_attempts), RSRC_CONF,
                  "delivery attempts before an email is marked failed (default 8)"),
    AP_INIT_TAKE1("PortalOutboxRetryDelay", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, outbox_retry_delay), RSRC_CONF,
                  "seconds before the first retry; doubles each attempt (default 60)"),
    AP_INIT_TAKE1("PortalRecipientIPLimit", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, rate_ip_limit), RSRC_CONF,
                  "recipient API requests per client address per window; 0 = off (default 30)"),
    AP_INIT_TAKE1("PortalRecipientTokenLimit", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, rate_token_limit), RSRC_CONF,
                  "recipient API requests per invitation token per window; 0 = off (default 10)"),
    AP_INIT_TAKE1("PortalRecipientRateWindow", set_server_int,
                  (void *)APR_OFFSETOF(pm_server_conf, rate_window), RSRC_CONF,
                  "seconds the recipient API limits are counted over (default 60)"),
    AP_INIT_TAKE1("PortalMaxBodySize", set_max_body, NULL, RSRC_CONF | ACCESS_CONF,
                  "largest JSON request body in bytes (default 65536)"),
    { NULL }
};

/* ---- whole-configuration checks -------------------------------------------- */

static const char *server_label(apr_pool_t *p, server_rec *s)
{
    if (!s->is_virtual) {
        return "main server";
    }
    return apr_psprintf(p, "virtual host %s (%s:%d)", s->server_hostname ? s->server_hostname : "?",
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}

/* SMTP AUTH is safe only inside TLS: smtps://, or STARTTLS that is required. */
static int mail_password_encrypted(const pm_server_conf *conf)
{
    int tls = conf->mail_tls != PM_UNSET ? conf->mail_tls : PM_DEFAULT_MAIL_TLS;

    return tls == PM_TLS_REQUIRED || strncasecmp(conf->mail_server, "smtps:", 6) == 0;
}

/* A virtual host's error about a value it did not set itself says where it is set. */
static const char *inherited(const server_rec *s, const char *value, const char *main_value)
{
    return s->is_virtual && value == main_value
           ? ", set in the main server configuration and inherited by this virtual host" : "";
}

static const char *check_server(apr_pool_t *p, server_rec *s, pm_server_conf *conf,
                                const pm_server_conf *main)
{
    int insecure_ok = conf->allow_insecure_urls == 1;

    if (conf->invitation_url == NULL) {
        return "PortalInvitationURL is required (the page invitation emails link to)";
    }
    if (conf->mail_server == NULL) {
        return "PortalMailServer is required (smtp://host:port or smtps://host:port)";
    }
    if (conf->mail_from == NULL) {
        return "PortalMailFrom is required (\"Practice Name <no-reply@example.org>\")";
    }
    if (!conf->invitation_url_https && !insecure_ok) {
        return apr_psprintf(p, "PortalInvitationURL %s must use https:// "
                            "(or set PortalAllowInsecureURLs On for development)%s",
                            conf->invitation_url, inherited(s, conf->invitation_url, main->invitation_url));
    }
    if (conf->login_url && !conf->login_url_https && !insecure_ok) {
        return apr_psprintf(p, "PortalLoginURL %s must use https:// "
                            "(or set PortalAllowInsecureURLs On for development)%s",
                            conf->login_url, inherited(s, conf->login_url, main->login_url));
    }
    if (conf->staff_url && !conf->staff_url_https && !insecure_ok) {
        return apr_psprintf(p, "PortalStaffURL %s must use https:// "
                            "(or set PortalAllowInsecureURLs On for development)%s",
                            conf->staff_url, inherited(s, conf->staff_url, main->staff_url));
    }
    if (conf->mail_user && !conf->mail_password_file) {
        return "PortalMailUser needs PortalMailPasswordFile";
    }
    if (conf->mail_password_file && !conf->mail_user) {
        return "PortalMailPasswordFile needs PortalMailUser";
    }
    if (conf->bounce_addr && !conf->token_secret) {
        return "PortalMailBounceAddress needs PortalTokenSecretFile (the bounce addresses' "
               "MAC is made with it, and portal-manager-admin bounce checks it with the "
               "same file)";
    }
    if (conf->mail_user && !mail_password_encrypted(conf) && conf->allow_insecure_mail != 1) {
        return apr_psprintf(p, "PortalMailUser with PortalMailTLS %s would send the SMTP "
                            "password unencrypted: use PortalMailTLS required or an smtps:// "
                            "PortalMailServer (or set PortalAllowInsecureMail On for "
                            "development)", conf->mail_tls == PM_TLS_NONE ? "none" : "try");
    }
    return NULL;
}

/* The sample configuration's EDIT values name reserved example domains (example.org):
 * until the admin replaces them configtest fails, with one line for each directive
 * still unedited. PortalAllowInsecureURLs On (development) allows them in the URLs and
 * lets the mail server and From address be a development name (.test, .invalid), but
 * never a documentation domain (example.com/.net/.org): no mail goes to or from those.
 * A virtual host is asked only about the values it sets itself. Returns how many it
 * logged. */
static int log_unedited(apr_pool_t *p, server_rec *s, const pm_server_conf *conf,
                        const pm_server_conf *main_conf)
{
    const struct { const char *directive, *value, *inherited; int is_mail; } edit[] = {
        { "PortalInvitationURL", conf->invitation_url, main_conf->invitation_url, 0 },
        { "PortalLoginURL", conf->login_url, main_conf->login_url, 0 },
        { "PortalStaffURL", conf->staff_url, main_conf->staff_url, 0 },
        { "PortalMailServer", conf->mail_server, main_conf->mail_server, 1 },
        { "PortalMailFrom", conf->mail_from, main_conf->mail_from, 1 },
    };
    int development = conf->allow_insecure_urls == 1;
    int i, found = 0;

    for (i = 0; i < (int)(sizeof(edit) / sizeof(edit[0])); i++) {
        const char *host = !development ? pm_example_host(p, edit[i].value)
                           : edit[i].is_mail ? pm_placeholder_host(p, edit[i].value) : NULL;

        if (host == NULL || (s->is_virtual && edit[i].value == edit[i].inherited)) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, PM_LOGNO(00300)
                     "mod_portal_manager: %s is unedited: %s is a reserved example domain; "
                     "set the practice's own value (%s) [%s]", edit[i].directive, host,
                     edit[i].is_mail ? "no mail is delivered to or from it; "
                                       "PortalAllowInsecureURLs does not waive this"
                                     : "or PortalAllowInsecureURLs On for development",
                     server_label(p, s));
        found++;
    }
    return found;
}

/* Development only: said at configtest and at every start, so that a production
 * server left with it on is seen in the log. */
static void warn_insecure_urls(server_rec *s, const pm_server_conf *conf)
{
    if (conf->allow_insecure_urls == 1) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PM_LOGNO(00670)
                     "mod_portal_manager: PortalAllowInsecureURLs On: invitation and login "
                     "links may go out over plain http://, their tokens readable on the "
                     "way; for development only [%s]", server_label(s->process->pconf, s));
    }
}

/* Every catalog of PortalCatalogDir, checked against en.json; their languages are
 * the ones settings and representatives accept from then on. */
static int load_catalogs(apr_pool_t *pconf, server_rec *s)
{
    const char *dir = pm_server_config(s)->catalog_dir;
    pm_catalog *c;
    const char *err = pm_catalog_load(pconf, dir ? dir : PM_CATALOG_DIR, &c);

    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, PM_LOGNO(00420)
                     "mod_portal_manager: %s (PortalCatalogDir)", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    loaded_catalog = c;
    pm_languages_use(pm_catalog_languages(c));
    return OK;
}

const pm_catalog *pm_config_catalog(void)
{
    return loaded_catalog;
}

int pm_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;
    int unedited = 0;

    if (load_catalogs(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    for (sp = s; sp; sp = sp->next) {
        const char *err;

        unedited += log_unedited(ptemp, sp, pm_server_config(sp), pm_server_config(s));
        warn_insecure_urls(sp, pm_server_config(sp));
        err = check_server(ptemp, sp, pm_server_config(sp), pm_server_config(s));
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, PM_LOGNO(00001)
                         "mod_portal_manager: %s [%s]", err, server_label(ptemp, sp));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        pm_route_check_admin_sections(ptemp, sp);
    }
    if (unedited) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return pm_config_dbd_check(ptemp, pconf);
}
