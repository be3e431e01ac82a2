/* pm_route.c — matching a request path against a routing table. The API's base
 * path is the <Location> whose SetHandler names this handler; the rest of the
 * URI is matched segment by segment against the route patterns. Also owns the
 * admin guard: /admin below a base answers only where a section of its own
 * covers it (the champions' Require), checked at configtest and per request. */
#include "pm_route.h"
#include "pm_metrics.h"

#include "http_core.h"
#include "http_protocol.h"
#include "ap_expr.h"
#include "apr_lib.h"
#include "apr_fnmatch.h"

APLOG_USE_MODULE(portal_manager);

#define MAX_IDS 4

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
            if (*nids >= MAX_IDS || !pm_http_parse_id(s, (apr_size_t)(se - s), &ids[*nids])) {
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
    int nids = 0, rc;
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
    pm_metrics_note_route(q->r, found ? found->pattern : rest);
    if (found == NULL) {
        apr_table_setn(q->r->err_headers_out, "Allow", allow);
        return pm_http_send_error(q, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                  apr_psprintf(q->r->pool, "%s is not allowed here (allowed: %s).",
                                               q->r->method, allow), NULL);
    }
    memcpy(q->ids, ids, sizeof(ids));
    q->nids = nids;
    /* deny by default: a route whose handler reads no query string takes no key */
    if (!(found->flags & PM_ROUTE_QUERY) && (rc = pm_http_read_query(q, NULL, NULL)) != PM_NEXT) {
        return rc;
    }
    if (before && (rc = before(q)) != PM_NEXT) {
        return rc;
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

int pm_route_try(pm_req *q, const pm_route *routes, pm_route_fn before)
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
    return DECLINED;
}

int pm_route_dispatch(pm_req *q, const pm_route *routes, pm_route_fn before)
{
    request_rec *r = q->r;
    int rc = pm_route_try(q, routes, before);

    if (rc != DECLINED) {
        return rc;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, PM_LOGNO(00021)
                  "no route for %s below the Locations with SetHandler %s",
                  r->uri, r->handler);
    return pm_http_send_error(q, HTTP_NOT_FOUND, "not_found",
                              "There is nothing at this address.", NULL);
}

/* ---- the admin guard -------------------------------------------------------------- */

/* Would this <Location>/<LocationMatch> section apply to uri (as httpd's
 * location walk decides)? */
static int section_matches(const core_dir_config *sec, const char *uri)
{
    apr_size_t len;

    if (sec->d == NULL) {
        return 0;
    }
    if (sec->r != NULL) {
        return ap_regexec(sec->r, uri, 0, NULL, 0) == 0;
    }
    if (sec->d_is_fnmatch) {
        return apr_fnmatch(sec->d, uri, APR_FNM_PATHNAME) == APR_SUCCESS;
    }
    len = strlen(sec->d);
    while (len > 0 && sec->d[len - 1] == '/') {
        len--;
    }
    return strncmp(uri, sec->d, len) == 0 && (uri[len] == '/' || uri[len] == '\0');
}

/* 1 when some section applies to base/admin/... and not to the rest of base: a
 * place where the champions' Require can stand. Without one, a second
 * "SetHandler portal-manager" would open the admin routes to every staff member. */
static int admin_covered(apr_pool_t *p, server_rec *s, const char *base)
{
    core_server_config *sconf = ap_get_core_module_config(s->module_config);
    ap_conf_vector_t **sections = (ap_conf_vector_t **)sconf->sec_url->elts;
    const char *admin = apr_pstrcat(p, base, "/admin/settings", NULL);
    const char *other = apr_pstrcat(p, base, "/me", NULL);
    int i;

    for (i = 0; i < sconf->sec_url->nelts; i++) {
        core_dir_config *sec = ap_get_core_module_config(sections[i]);
        if (section_matches(sec, admin) && !section_matches(sec, other)) {
            return 1;
        }
    }
    return 0;
}

static const char *request_base(pm_req *q)
{
    return apr_pstrmemdup(q->r->pool, q->r->uri, strlen(q->r->uri) - strlen(q->path));
}

int pm_route_admin_covered(pm_req *q)
{
    return admin_covered(q->r->pool, q->r->server, request_base(q));
}

int pm_route_admin_allowed(pm_req *q)
{
    request_rec *r = q->r;
    const char *base = request_base(q);

    if (admin_covered(r->pool, r->server, base)) {
        return 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PM_LOGNO(00101)
                  "admin route %s refused: no <Location %s/admin> of its own protects the "
                  "admin routes of this SetHandler portal-manager", q->path, base);
    return 0;
}

/* The handler a section sets, when SetHandler gave it as plain text (evaluated
 * with a request that has nothing in it: a plain string needs nothing). */
static const char *static_handler(apr_pool_t *p, server_rec *s, const core_dir_config *sec)
{
    request_rec *fake;
    const char *err = NULL, *handler;

    if (sec->expr_handler == NULL) {
        return NULL;
    }
    fake = apr_pcalloc(p, sizeof(*fake));
    fake->pool = p;
    fake->server = s;
    fake->connection = apr_pcalloc(p, sizeof(conn_rec));
    fake->connection->pool = p;
    fake->connection->base_server = s;
    fake->headers_in = fake->headers_out = fake->err_headers_out = apr_table_make(p, 1);
    fake->subprocess_env = fake->notes = apr_table_make(p, 1);
    fake->uri = fake->unparsed_uri = fake->filename = "";
    handler = ap_expr_str_exec(fake, sec->expr_handler, &err);
    return err ? NULL : handler;
}

void pm_route_check_admin_sections(apr_pool_t *p, server_rec *s)
{
    core_server_config *sconf = ap_get_core_module_config(s->module_config);
    ap_conf_vector_t **sections = (ap_conf_vector_t **)sconf->sec_url->elts;
    int i;

    for (i = 0; i < sconf->sec_url->nelts; i++) {
        core_dir_config *sec = ap_get_core_module_config(sections[i]);
        const char *handler;
        apr_size_t len;
        if (sec->d == NULL || sec->r != NULL || sec->d_is_fnmatch
            || (handler = static_handler(p, s, sec)) == NULL
            || strcmp(handler, "portal-manager") != 0) {
            continue;
        }
        len = strlen(sec->d);
        while (len > 0 && sec->d[len - 1] == '/') {
            len--;
        }
        if (!admin_covered(p, s, apr_pstrmemdup(p, sec->d, len))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PM_LOGNO(00102)
                         "mod_portal_manager: <Location %s> says SetHandler portal-manager but "
                         "no <Location %.*s/admin> of its own covers its admin routes; they "
                         "will answer 403 until one (with the champions' Require) is added",
                         sec->d, (int)len, sec->d);
        }
    }
}
