/* pm_log_throttle.h — a line for a fault met over and over (every request, every
 * worker pass): the first at error level, then at most one a minute saying how many
 * it stood for, the rest at debug level. Per child, lock-free. */
#ifndef PM_LOG_THROTTLE_H
#define PM_LOG_THROTTLE_H

#include "apr_time.h"

typedef struct {
    apr_uint32_t unlogged;        /* failures since the last line */
    volatile apr_time_t next;     /* when a failure may log again; 0: none yet */
} pm_log_throttle;

/* The level of this failure's line (APLOG_ERR or APLOG_DEBUG); *more: the failures
 * it stands for beside itself. */
int pm_log_throttled_level(pm_log_throttle *t, apr_uint32_t *more);

#endif
