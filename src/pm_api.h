/* pm_api.h — the two content handlers (staff API, recipient API) and what the
 * staff resources share: who the signed-in staff member is. */
#ifndef PM_API_H
#define PM_API_H

#include "pm_http.h"

typedef struct pm_staff {
    const char *username;
    const char *display_name;
    int all_clients;
} pm_staff;

/* SetHandler portal-manager */
int pm_api_staff_handler(request_rec *r);

/* SetHandler portal-invitation */
int pm_api_recipient_handler(request_rec *r);

#endif
