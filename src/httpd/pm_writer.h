/* pm_writer.h — one writer at a time on SQLite: a global mutex (Mutex type
 * "portal-manager-writer") that the module's write transactions and autocommit
 * writes queue on, instead of meeting SQLITE_BUSY and APR's 100 ms retry sleeps. */
#ifndef PM_WRITER_H
#define PM_WRITER_H

#include "pm_common.h"

/* pre_config: registers the mutex type (the Mutex directive can move it). */
int pm_writer_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* post_config: the mutex of this generation. */
int pm_writer_post_config(apr_pool_t *pconf, server_rec *s);

/* child_init: reopens the mutex in the child. */
void pm_writer_child_init(apr_pool_t *pchild, server_rec *s);

/* Wait (at most PM_WRITER_WAIT) for the turn to write. APR_SUCCESS: the caller
 * writes, then pm_writer_leave. APR_TIMEUP: another writer held it all that
 * time (the caller answers 503). Without a mutex (not set up): APR_SUCCESS. */
#define PM_WRITER_WAIT apr_time_from_sec(5)
apr_status_t pm_writer_enter(void);
void pm_writer_leave(void);

#endif
