/* pm_config_dbd.c — the DBDriver/DBDParams lines of the parsed configuration tree
 * (ap_conftree; mod_dbd's own configuration is private): the delivery worker uses the
 * main server's pool only, so configtest refuses a module in use without one, or a
 * virtual host of the module's on another database (its emails would never be sent).
 * The same walk finds a portal login query kept from before the timing fix (PM00705). */
#include "pm_config_dbd.h"

#include "http_config.h"
#include "http_log.h"

#include <apr_strings.h>
#include <string.h>
#include <unistd.h>

APLOG_USE_MODULE(portal_manager);

typedef struct {
    const char *driver, *params;  /* as written; NULL: not set */
    const char *file;             /* where DBDParams is */
    int line;
    int uses_module;              /* a SetHandler of the module's */
    int allow_other;              /* PortalAllowOtherDatabase On */
    const ap_directive_t *telling_query;  /* an AuthDBDUserPWQuery without the fallback */
} dbd_lines;

/* The main server's, read at startup: the SQLite file whose directory the outage
 * lines can check (pm_config_sqlite_file). */
static const char *main_sqlite_file;

static int is_vhost(const ap_directive_t *d)
{
    return strcasecmp(d->directive, "<VirtualHost") == 0;
}

static int names_handler(const char *args)
{
    return strstr(args, "portal-manager") != NULL || strstr(args, "portal-invitation") != NULL;
}

/* The client portal's login query on portal_accounts answers nothing for a user
 * name without an active account, so mod_authn_dbd refuses it at once and a real
 * name after a bcrypt check: the time tells which names have an account. The
 * sample's query answers a dummy bcrypt hash instead: coalesce(..., '$2y$...'). */
static int tells_names(const char *query)
{
    return strcasestr(query, "portal_accounts") != NULL
           && (strcasestr(query, "coalesce(") == NULL || strstr(query, "'$2") == NULL);
}

/* One server's lines: its own sections (<IfModule>, <IfDefine>, <Location> ...), never
 * a virtual host's inside it. */
static void read_lines(const ap_directive_t *d, dbd_lines *out)
{
    for (; d; d = d->next) {
        if (is_vhost(d)) {
            continue;
        }
        if (strcasecmp(d->directive, "DBDriver") == 0) {
            out->driver = d->args;
        }
        else if (strcasecmp(d->directive, "DBDParams") == 0) {
            out->params = d->args;
            out->file = d->filename;
            out->line = d->line_num;
        }
        else if (strcasecmp(d->directive, "SetHandler") == 0 && names_handler(d->args)) {
            out->uses_module = 1;
        }
        else if (strcasecmp(d->directive, "PortalAllowOtherDatabase") == 0) {
            out->allow_other = strcasecmp(d->args, "on") == 0;
        }
        else if (strcasecmp(d->directive, "AuthDBDUserPWQuery") == 0 && !out->telling_query
                 && tells_names(d->args)) {
            out->telling_query = d;
        }
        if (d->first_child) {
            read_lines(d->first_child, out);
        }
    }
}

/* an argument as httpd reads it: "a b" and a b are the same value */
static const char *unquoted(apr_pool_t *p, const char *arg)
{
    return ap_getword_conf(p, &arg);
}

static int differs(apr_pool_t *p, const char *a, const char *b)
{
    return a && (b == NULL || strcmp(unquoted(p, a), unquoted(p, b)) != 0);
}

static int emergency(const char *msg)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, PM_LOGNO(00671) "mod_portal_manager: %s",
                 msg);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* said at configtest and at every start; the login still works */
static void warn_telling_query(const ap_directive_t *d)
{
    if (d) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, PM_LOGNO(00705)
                     "mod_portal_manager: the AuthDBDUserPWQuery at %s:%d reads "
                     "portal_accounts but answers nothing for an unknown user name, so a "
                     "refused login's time tells which user names have a portal account: "
                     "use the sample's query, which answers a dummy bcrypt hash "
                     "(portal_manager.conf.dpkg-dist; README, Upgrades)",
                     d->filename, d->line_num);
    }
}

/* each <VirtualHost> of the module's: its database must be the main server's */
static int check_vhosts(apr_pool_t *p, const ap_directive_t *d, const dbd_lines *main)
{
    for (; d; d = d->next) {
        dbd_lines vh = { 0 };

        if (!is_vhost(d)) {
            if (d->first_child && check_vhosts(p, d->first_child, main) != OK) {
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            continue;
        }
        read_lines(d->first_child, &vh);
        warn_telling_query(vh.telling_query);
        if ((main->uses_module || vh.uses_module) && !vh.allow_other
            && (differs(p, vh.params, main->params) || differs(p, vh.driver, main->driver))) {
            return emergency(apr_psprintf(p,
                "the <VirtualHost %.*s> at %s:%d names a database (DBDParams at %s:%d) "
                "other than the main server's: the delivery worker sends only the main "
                "server's database's emails, so this host's invitations would never be "
                "sent; put DBDriver and DBDParams in the main server configuration only",
                (int)strcspn(d->args, ">"), d->args, d->filename, d->line_num,
                vh.file ? vh.file : d->filename, vh.file ? vh.line : d->line_num));
        }
    }
    return OK;
}

/* a SetHandler of the module's in any section, virtual hosts included (whose
 * emails the main server's worker sends too) */
static int handler_anywhere(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if ((strcasecmp(d->directive, "SetHandler") == 0 && names_handler(d->args))
            || (d->first_child && handler_anywhere(d->first_child))) {
            return 1;
        }
    }
    return 0;
}

int pm_config_dbd_check(apr_pool_t *ptemp, apr_pool_t *pconf)
{
    dbd_lines main = { 0 };

    main_sqlite_file = NULL;
    read_lines(ap_conftree, &main);
    if (!main.uses_module && !handler_anywhere(ap_conftree)) {
        return OK;
    }
    warn_telling_query(main.telling_query);
    if (main.params == NULL) {
        return emergency("no DBDParams in the main server configuration: the delivery "
                         "worker (invitation emails) uses the main server's database, and "
                         "virtual hosts inherit it; put DBDriver and DBDParams outside any "
                         "<VirtualHost> (docs/configuration.md, Virtual hosts)");
    }
    if (main.driver && strcmp(unquoted(ptemp, main.driver), "sqlite3") == 0) {
        main_sqlite_file = unquoted(pconf, main.params);
    }
    return check_vhosts(ptemp, ap_conftree, &main);
}

/* the SQLite file and its directory writable by this process (the child's user) */
int pm_config_sqlite_unwritable(apr_pool_t *p)
{
    const char *file = main_sqlite_file;
    const char *slash;

    if (file == NULL || *file != '/') {
        return 0;
    }
    slash = strrchr(file, '/');
    return access(apr_pstrndup(p, file, slash == file ? 1 : (apr_size_t)(slash - file)), W_OK) != 0
           || (access(file, F_OK) == 0 && access(file, W_OK) != 0);
}
