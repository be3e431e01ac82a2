/* pm_audit.c — one INSERT per audited event, on the request's connection so it
 * joins the caller's transaction when there is one. */
#include "pm_audit.h"
#include "pm_api.h"
#include "pm_store.h"

APLOG_USE_MODULE(portal_manager);

apr_status_t pm_audit(pm_req *q, const char *action, long long client_id,
                      long long object_id, const char *result, json_t *detail)
{
    apr_pool_t *p = q->r->pool;
    const char *who = q->staff ? q->staff->username : (q->r->user ? q->r->user : "recipient");
    apr_status_t rv;

    rv = pm_db_exec(q->db, PM_SQL_AUDIT_INSERT, NULL,
                    pm_arg_int(p, pm_now_sec(q->r)),
                    who, action,
                    client_id > 0 ? pm_arg_int(p, client_id) : NULL,
                    object_id > 0 ? pm_arg_int(p, object_id) : NULL,
                    result,
                    detail ? pm_json_text(p, detail) : NULL,
                    q->r->useragent_ip,
                    q->request_id);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, PM_LOGNO(00040)
                      "could not write the audit row for %s (request %s)", action, q->request_id);
    }
    return rv;
}
