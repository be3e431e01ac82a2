/* pm_monitor.h — what an operator watches: the mod_status section, the Prometheus
 * page (SetHandler portal-manager-metrics) and GET …/api/health for load balancers. */
#ifndef PM_MONITOR_H
#define PM_MONITOR_H

#include "pm_http.h"

/* mod_status's status_hook: the outbox and the worker, ?auto or HTML. */
int pm_monitor_status_section(request_rec *r, int flags);

/* SetHandler portal-manager-metrics: Prometheus text format 0.0.4. */
int pm_monitor_metrics_handler(request_rec *r);

/* GET …/api/health: {"status":"ok"} 200, or {"status":"unavailable"} 503 when the
 * database cannot be read, the worker made no progress for 5 intervals (plus one
 * PortalMailTimeout), or a mail configuration error holds the queue. */
int pm_monitor_health(pm_req *q);

#endif
