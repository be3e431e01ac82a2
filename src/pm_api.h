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

/* Client resources (pm_api_clients.c). */
apr_status_t pm_api_clients_init(void);
int pm_api_clients_list(pm_req *q);
int pm_api_client_view(pm_req *q);
int pm_api_client_set_email(pm_req *q);
int pm_api_client_set_declined(pm_req *q);
int pm_api_client_clear_declined(pm_req *q);
int pm_api_client_set_preferences(pm_req *q);
int pm_api_client_audit(pm_req *q);

/* SetHandler portal-manager */
int pm_api_staff_handler(request_rec *r);

/* SetHandler portal-invitation */
int pm_api_recipient_handler(request_rec *r);

#endif
