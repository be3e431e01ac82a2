/* pm_audit_group.h — group commit of audit rows written outside a transaction
 * (see pm_audit_group.c). */
#ifndef PM_AUDIT_GROUP_H
#define PM_AUDIT_GROUP_H

#include "pm_common.h"
#include "pm_db.h"
#include "pm_audit_chain.h"

/* an audit row's values (pm_audit_chain.h) */
#define PM_AUDIT_ARGS PM_AUDIT_FIELDS

/* child_init: a threaded MPM's child groups its audit commits; otherwise (or
 * when the mutex cannot be made) each row is its own commit. */
void pm_audit_group_child_init(apr_pool_t *pchild, server_rec *s);

/* Inside a transaction on db: the row is appended to the audit chain in it.
 * Otherwise: the row is committed with whatever rows this child's other threads
 * are writing now, and this returns when that commit has ended (its outcome is
 * the row's). p: the caller's pool (the hashes). */
apr_status_t pm_audit_group_write(pm_db *db, apr_pool_t *p, const char *const *args);

#endif
