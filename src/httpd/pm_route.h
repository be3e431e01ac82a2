/* pm_route.h — routing tables: method + path pattern ("/clients/{id}/email") to a
 * handler function; 404 for unknown paths, 405 with Allow for unknown methods. */
#ifndef PM_ROUTE_H
#define PM_ROUTE_H

#include "pm_http.h"

typedef int (*pm_route_fn)(pm_req *q);

typedef struct {
    const char *method;      /* "GET" also answers HEAD */
    const char *pattern;     /* segments; "{id}" matches a positive decimal id */
    pm_route_fn fn;
    unsigned flags;
} pm_route;

/* The handler reads the query string itself (pm_http_read_query with the keys it
 * takes, listed next to its parser); any other route is refused every key. */
#define PM_ROUTE_QUERY 1

/* Find this request's path below the Location it was configured in, match it
 * against routes (terminated by a NULL pattern) and run the handler. `before`
 * (may be NULL) runs once a route matched, ahead of its handler: it returns
 * PM_NEXT to go on or OK after answering the request itself. */
int pm_route_dispatch(pm_req *q, const pm_route *routes, pm_route_fn before);

/* The same, but DECLINED (nothing sent) when no route's pattern matches. */
int pm_route_try(pm_req *q, const pm_route *routes, pm_route_fn before);

/* Match one pattern against a path; fills ids. 1 on match. */
int pm_route_match(const char *pattern, const char *path, long long *ids, int *nids);

/* The admin guard. 1 when the admin routes below this request's base path have a
 * section of their own (where the champions' Require stands), else 0:
 * pm_route_admin_covered only says so (GET /me asks it for the "admin" flag);
 * pm_route_admin_allowed also logs why an admin route is refused. */
int pm_route_admin_covered(pm_req *q);
int pm_route_admin_allowed(pm_req *q);

/* configtest: warn for every "SetHandler portal-manager" Location of server s
 * whose /admin has no section of its own. */
void pm_route_check_admin_sections(apr_pool_t *p, server_rec *s);

#endif
