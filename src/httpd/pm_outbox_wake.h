/* pm_outbox_wake.h — a commit that queued email wakes the delivery worker at once
 * (pm_outbox_wake.c); polling every PortalOutboxInterval stays as the fallback. */
#ifndef PM_OUTBOX_WAKE_H
#define PM_OUTBOX_WAKE_H

#include "pm_common.h"

/* Any thread of any child of this httpd: "mail is queued" (best effort, never blocks). */
void pm_outbox_wake(void);

/* The worker thread: wait up to timeout for a wake (1) or not (0). Listens from the
 * first call on; without the socket (another worker holds the name, e.g. the other
 * graceful generation's) it simply sleeps and tries to listen again next time. */
int pm_outbox_wake_wait(server_rec *s, apr_interval_time_t timeout);

/* The worker thread stops: close the socket. */
void pm_outbox_wake_close(void);

#endif
