/* pm_writer.c — the SQLite writer gate. SQLite lets one connection write at a
 * time; a second one gets SQLITE_BUSY, and APR's driver then sleeps 100 ms per
 * retry (so a burst of audited reads stalled for hundreds of ms). The module's
 * writers take turns on one global mutex instead; readers never touch it. */
#include "pm_writer.h"

#include "apr_global_mutex.h"
#include "util_mutex.h"

APLOG_USE_MODULE(portal_manager);

static const char *const writer_mutex_type = "portal-manager-writer";
static apr_global_mutex_t *writer_mutex;
static int writer_timed = 1;       /* 0 once timedlock says APR_ENOTIMPL */

int pm_writer_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, writer_mutex_type, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t writer_forget(void *unused)
{
    writer_mutex = NULL;
    return APR_SUCCESS;
}

int pm_writer_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_status_t rv = ap_global_mutex_create(&writer_mutex, NULL, writer_mutex_type, NULL, s,
                                             pconf, 0);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PM_LOGNO(00180)
                     "mod_portal_manager: cannot create the SQLite writer mutex (%s)",
                     writer_mutex_type);
        writer_mutex = NULL;
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, writer_forget, apr_pool_cleanup_null);
    return OK;
}

void pm_writer_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (writer_mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&writer_mutex, apr_global_mutex_lockfile(writer_mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, PM_LOGNO(00181)
                     "mod_portal_manager: cannot reopen the SQLite writer mutex in this "
                     "child; its writes meet SQLite's own locking");
        writer_mutex = NULL;
    }
}

apr_status_t pm_writer_enter(void)
{
    apr_status_t rv;

    if (writer_mutex == NULL) {
        return APR_SUCCESS;
    }
    if (writer_timed) {
        rv = apr_global_mutex_timedlock(writer_mutex, PM_WRITER_WAIT);
        if (rv != APR_ENOTIMPL) {
            return rv;
        }
        writer_timed = 0;
    }
    return apr_global_mutex_lock(writer_mutex);
}

void pm_writer_leave(void)
{
    if (writer_mutex != NULL) {
        apr_global_mutex_unlock(writer_mutex);
    }
}
