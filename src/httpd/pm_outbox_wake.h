/* pm_outbox_wake.h — a commit that queued email wakes the delivery worker at once
 * (pm_outbox_wake.c); polling every PortalOutboxInterval stays as the fallback. */
#ifndef PM_OUTBOX_WAKE_H
#define PM_OUTBOX_WAKE_H

#include "pm_common.h"

/* Any thread of any child of this httpd: "mail is queued" (best effort, never blocks). */
void pm_outbox_wake(void);

/* A child's watchdog thread: 1 when this child holds the worker's seat (the socket),
 * taking it if it is free (tried at most every 200 ms); 0 while another child of this
 * httpd (or of its other graceful generation) holds it. */
int pm_outbox_wake_hold(server_rec *s);

/* The worker thread: wait up to timeout for a wake (1) or not (0); without the seat
 * it simply sleeps. */
int pm_outbox_wake_wait(server_rec *s, apr_interval_time_t timeout);

/* The worker thread stops: close the socket. */
void pm_outbox_wake_close(void);

#endif
