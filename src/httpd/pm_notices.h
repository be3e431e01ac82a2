/* pm_notices.h — staff notices: what happened for a staff member's clients, sent by
 * the delivery worker to those who asked (see pm_notices.c). */
#ifndef PM_NOTICES_H
#define PM_NOTICES_H

#include "pm_common.h"

/* staff.last_seen_at is written at most this often per person (pm_api_staff.c): so
 * a sighting may be that old, and the idle limit allows for it */
#define PM_STAFF_SEEN_EVERY 86400

/* The worker's: at most every few seconds, each staff member with an email and
 * notify immediate gets what is new; notify daily gets a digest once a day from
 * 07:00 practice time. Nothing is sent when there is nothing to say. */
void pm_notices_pass(server_rec *s, apr_pool_t *pool);

#endif
