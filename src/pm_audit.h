/* pm_audit.h — writing the append-only audit trail: who did what to which
 * client, with what result, from where. Detail is JSON and never carries an
 * email address, note text, token or password. */
#ifndef PM_AUDIT_H
#define PM_AUDIT_H

#include "pm_http.h"

#define PM_AUDIT_OK     "ok"
#define PM_AUDIT_DENIED "denied"

/* client_id / object_id <= 0 are stored as NULL; detail may be NULL.
 * Uses q->db (which may be inside a transaction). */
apr_status_t pm_audit(pm_req *q, const char *action, long long client_id,
                      long long object_id, const char *result, json_t *detail);

#endif
