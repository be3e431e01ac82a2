/* pm_ratelimit.h — the recipient API's request limits per client address and per
 * invitation token, shared by all of httpd's children (shared memory + global mutex
 * around the pure table of pm_rate.h). */
#ifndef PM_RATELIMIT_H
#define PM_RATELIMIT_H

#include "pm_http.h"

/* pre_config: registers the mutex type "portal-ratelimit" (Mutex directive). */
int pm_ratelimit_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* post_config: a fresh table and mutex for this generation; numbers the servers. */
int pm_ratelimit_post_config(apr_pool_t *pconf, server_rec *s);

/* child_init: reopens the mutex in the child. */
void pm_ratelimit_child_init(apr_pool_t *pchild, server_rec *s);

/* After the JSON body is read: PM_NEXT, or OK after answering 429 rate_limited
 * with Retry-After. Counts the client address, then the body's token if any. */
int pm_ratelimit_recipient(pm_req *q);

#endif
