/* pm_audit.h — the append-only audit trail: writing a row (who did what to which
 * client, with what result, from where) and showing a page of rows. Detail is
 * JSON and never carries an email address, note text, token or password. */
#ifndef PM_AUDIT_H
#define PM_AUDIT_H

#include "pm_http.h"

#define PM_AUDIT_OK     "ok"
#define PM_AUDIT_DENIED "denied"

/* client_id / object_id <= 0 are stored as NULL; detail may be NULL.
 * Uses q->db (which may be inside a transaction). */
apr_status_t pm_audit(pm_req *q, const char *action, long long client_id,
                      long long object_id, const char *result, json_t *detail);

/* A page of the trail as the staff API answers it: {"entries": [...], "next_cursor"},
 * from rows of PM_COLS_AUDIT read as limit + 1 (pm_api_end_page). The whole trail
 * (GET /admin/audit) also shows each entry's client_id and remote_ip; one client's
 * trail (GET /clients/{id}/audit) does not. Owned by the request pool. */
json_t *pm_audit_page_json(pm_req *q, const apr_array_header_t *rows, int limit,
                           int whole_trail);

/* The delivery worker's pass: the audit chain's head to the error log (PM00625,
 * notice) at the worker's first pass and at most once an hour after. */
void pm_audit_head_pass(server_rec *s, apr_pool_t *pool);

#endif
