/* pm_api_recipient.c — the public recipient API (SetHandler portal-invitation):
 * token-bearing JSON requests from the invitation page. Routes are added by the
 * recipient issue; until then every path answers a JSON 404. */
#include "pm_api.h"
#include "pm_route.h"

APLOG_USE_MODULE(portal_manager);

static const pm_route recipient_routes[] = {
    { NULL, NULL, NULL }
};

int pm_api_recipient_handler(request_rec *r)
{
    pm_req *q;

    if (r->handler == NULL || strcmp(r->handler, "portal-invitation") != 0) {
        return DECLINED;
    }
    q = pm_http_begin(r);
    return pm_route_dispatch(q, recipient_routes, pm_http_check_csrf);
}
