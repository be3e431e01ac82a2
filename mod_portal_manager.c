/* mod_portal_manager.c — the module record: directives, configuration records and
 * hook registration. Everything else lives in src/ (see README, Architecture). */
#include "pm_common.h"
#include "pm_config.h"
#include "pm_store.h"
#include "pm_api.h"
#include "pm_audit_group.h"
#include "pm_outbox.h"
#include "pm_metrics.h"
#include "pm_monitor.h"
#include "pm_ratelimit.h"
#include "pm_writer.h"
#include "pm_db_guard.h"

#include "http_request.h"
#include "http_protocol.h"
#include "http_main.h"
#include "http_core.h"
#include "mod_status.h"


static int pm_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    if (pm_api_paging_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00002)
                     "mod_portal_manager: no random numbers for cursor signing");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (pm_store_init(s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* the first of httpd's two startup passes only checks; start nothing */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (pm_ratelimit_post_config(pconf, s) != OK || pm_writer_post_config(pconf, s) != OK
        || pm_metrics_post_config(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return pm_outbox_register(pconf, s);
}

static void pm_register_hooks(apr_pool_t *p)
{
    static const char *const run_before_dbd[] = { "mod_dbd.c", NULL };

    ap_hook_pre_config(pm_store_pre_config, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_pre_config(pm_ratelimit_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(pm_writer_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pm_config_check, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pm_post_config, NULL, run_before_dbd, APR_HOOK_MIDDLE);
    ap_hook_child_init(pm_ratelimit_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pm_writer_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pm_audit_group_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pm_outbox_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pm_db_guard_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pm_outbox_child_ready, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_insert_error_filter(pm_http_insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    pm_http_register_error_filter();
    ap_hook_post_perdir_config(pm_api_quiet_admin_probe, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pm_api_staff_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pm_api_recipient_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pm_monitor_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(pm_metrics_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, pm_monitor_status_section, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(portal_manager) = {
    STANDARD20_MODULE_STUFF,
    pm_config_create_dir,
    pm_config_merge_dir,
    pm_config_create_server,
    pm_config_merge_server,
    pm_config_directives,
    pm_register_hooks,
    AP_MODULE_FLAG_NONE
};
