/* httpd_stub.c — what the harnesses' one httpd-side file (src/httpd/pm_json.c) needs of
 * httpd, which they never link: the module record its log lines name and a logger
 * that formats the line (so a bad format is still seen by the sanitizers) and drops it. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include <stdarg.h>
#include <stdio.h>

module AP_MODULE_DECLARE_DATA portal_manager_module = {
    .version = MODULE_MAGIC_NUMBER_MAJOR,
    .minor_version = MODULE_MAGIC_NUMBER_MINOR,
    .module_index = 0,
    .name = "mod_portal_manager.c",
};

void ap_log_error_(const char *file, int line, int module_index, int level,
                   apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
}
