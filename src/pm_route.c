/* pm_route.c — matching a request path against a routing table. The API's base
 * path is the <Location> whose SetHandler names this handler; the rest of the
 * URI is matched segment by segment against the route patterns. */
#include "pm_route.h"

#include "http_core.h"
#include "http_protocol.h"
#include "ap_expr.h"
#include "apr_lib.h"

APLOG_USE_MODULE(portal_manager);

#define MAX_IDS 4

static int match_id(const char *seg, apr_size_t len, long long *out)
{
    long long v = 0;
    apr_size_t i;

    if (len == 0 || len > 15 || seg[0] == '0') {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!apr_isdigit(seg[i])) {
            return 0;
        }
        v = v * 10 + (seg[i] - '0');
    }
    *out = v;
    return 1;
}

int pm_route_match(const char *pattern, const char *path, long long *ids, int *nids)
{
    const char *p = pattern, *s = path;

    *nids = 0;
    while (*p && *s) {
        const char *pe, *se;
        if (*p != '/' || *s != '/') {
            return 0;
        }
        p++;
        s++;
        pe = p + strcspn(p, "/");
        se = s + strcspn(s, "/");
        if (pe - p == 4 && strncmp(p, "{id}", 4) == 0) {
            if (*nids >= MAX_IDS || !match_id(s, (apr_size_t)(se - s), &ids[*nids])) {
                return 0;
            }
            (*nids)++;
        }
        else if (pe - p != se - s || strncmp(p, s, (size_t)(pe - p)) != 0) {
            return 0;
        }
        p = pe;
        s = se;
    }
    return *p == '\0' && *s == '\0';
}

static int method_matches(const char *route_method, request_rec *r)
{
    if (strcmp(route_method, r->method) == 0) {
        return 1;
    }
    return r->header_only && strcmp(route_method, "GET") == 0
           && strcmp(r->method, "HEAD") == 0;
}

/* Tries one base path; returns OK when a response was produced, DECLINED when
 * no route's pattern matches the rest of the path. */
static int dispatch_below(pm_req *q, const pm_route *routes, pm_route_fn before,
                          const char *rest)
{
    const pm_route *rt;
    const pm_route *found = NULL;
    long long ids[MAX_IDS];
    int nids = 0;
    char *allow = NULL;

    for (rt = routes; rt->pattern; rt++) {
        long long tmp[MAX_IDS];
        int ntmp;
        if (!pm_route_match(rt->pattern, rest, tmp, &ntmp)) {
            continue;
        }
        allow = allow ? apr_pstrcat(q->r->pool, allow, ", ", rt->method, NULL)
                      : apr_pstrdup(q->r->pool, rt->method);
        if (strcmp(rt->method, "GET") == 0) {
            allow = apr_pstrcat(q->r->pool, allow, ", HEAD", NULL);
        }
        if (found == NULL && method_matches(rt->method, q->r)) {
            found = rt;
            memcpy(ids, tmp, sizeof(ids));
            nids = ntmp;
        }
    }
    if (allow == NULL) {
        return DECLINED;
    }
    q->path = rest;
    if (found == NULL) {
        apr_table_setn(q->r->err_headers_out, "Allow", allow);
        return pm_http_send_error(q, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                  apr_psprintf(q->r->pool, "%s is not allowed here (allowed: %s).",
                                               q->r->method, allow), NULL);
    }
    memcpy(q->ids, ids, sizeof(ids));
    q->nids = nids;
    if (before) {
        int rc = before(q);
        if (rc != PM_NEXT) {
            return rc;
        }
    }
    return found->fn(q);
}

static int longer_first(const void *a, const void *b)
{
    return (int)strlen(*(const char *const *)b) - (int)strlen(*(const char *const *)a);
}

/* The plain <Location> sections (no regex, no wildcard) that say
 * "SetHandler <this request's handler>" and contain this URI: the API base
 * paths, longest first. Reading them from core's section list means the admin
 * writes nothing but SetHandler. */
static apr_array_header_t *handler_locations(request_rec *r)
{
    core_server_config *sconf = ap_get_core_module_config(r->server->module_config);
    ap_conf_vector_t **sections = (ap_conf_vector_t **)sconf->sec_url->elts;
    apr_array_header_t *bases = apr_array_make(r->pool, 2, sizeof(const char *));
    int i;

    for (i = 0; i < sconf->sec_url->nelts; i++) {
        core_dir_config *sec = ap_get_core_module_config(sections[i]);
        const char *err = NULL, *handler;
        apr_size_t len;
        if (sec->d == NULL || sec->r != NULL || sec->d_is_fnmatch || sec->expr_handler == NULL) {
            continue;
        }
        len = strlen(sec->d);
        while (len > 0 && sec->d[len - 1] == '/') {
            len--;
        }
        if (strncmp(r->uri, sec->d, len) != 0 || (r->uri[len] != '/' && r->uri[len] != '\0')) {
            continue;
        }
        handler = ap_expr_str_exec(r, sec->expr_handler, &err);
        if (err == NULL && handler != NULL && strcmp(handler, r->handler) == 0) {
            APR_ARRAY_PUSH(bases, const char *) = apr_pstrmemdup(r->pool, sec->d, len);
        }
    }
    qsort(bases->elts, (size_t)bases->nelts, sizeof(const char *), longer_first);
    return bases;
}

int pm_route_dispatch(pm_req *q, const pm_route *routes, pm_route_fn before)
{
    request_rec *r = q->r;
    apr_array_header_t *bases = handler_locations(r);
    int i;

    for (i = 0; i < bases->nelts; i++) {
        const char *base = APR_ARRAY_IDX(bases, i, const char *);
        int rc = dispatch_below(q, routes, before, r->uri + strlen(base));
        if (rc != DECLINED) {
            return rc;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, PM_LOGNO(00021)
                  "no route for %s below %d Location(s) with SetHandler %s",
                  r->uri, bases->nelts, r->handler);
    return pm_http_send_error(q, HTTP_NOT_FOUND, "not_found",
                              "There is nothing at this address.", NULL);
}
