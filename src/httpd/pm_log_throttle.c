/* pm_log_throttle.c — one line a minute for a fault that repeats (pm_log_throttle.h). */
#include "pm_log_throttle.h"

#include "apr_atomic.h"
#include "httpd.h"
#include "http_log.h"

#define THROTTLE_LINE_EVERY apr_time_from_sec(60)

int pm_log_throttled_level(pm_log_throttle *t, apr_uint32_t *more)
{
    apr_time_t now = apr_time_now(), next = t->next;

    if (next == 0 || now >= next) {
        t->next = now + THROTTLE_LINE_EVERY;
        *more = apr_atomic_xchg32(&t->unlogged, 0);
        return APLOG_ERR;
    }
    apr_atomic_inc32(&t->unlogged);
    *more = 0;
    return APLOG_DEBUG;
}
