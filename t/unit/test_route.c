/* Unit tests for routing (src/httpd/pm_route.c) on a fake request (fake_httpd.c):
 * pattern matching and {id} capture, the base path from the SetHandler
 * <Location>, 404 for unknown paths, 405 with Allow, HEAD answered by GET, and
 * the `before` check that runs once a route matched. */
#include "pm_route.h"
#include "fake_httpd.h"
#include "tap.h"

static apr_pool_t *pool;
static const char *ran;           /* which handler ran */
static long long ran_ids[4];
static int before_calls;

static int h_me(pm_req *q) { ran = "me"; return OK; }
static int h_client(pm_req *q) { ran = "client"; memcpy(ran_ids, q->ids, sizeof(ran_ids)); return OK; }
static int h_invite(pm_req *q) { ran = "invite"; memcpy(ran_ids, q->ids, sizeof(ran_ids)); return OK; }
static int h_revoke(pm_req *q) { ran = "revoke"; memcpy(ran_ids, q->ids, sizeof(ran_ids)); return OK; }

static const pm_route routes[] = {
    { "GET",    "/me",                                h_me },
    { "GET",    "/clients/{id}",                      h_client },
    { "POST",   "/clients/{id}/invitations",          h_invite },
    { "DELETE", "/clients/{id}/invitations/{id}",     h_revoke },
    { NULL, NULL, NULL }
};

static int before_refuses;
static int before(pm_req *q)
{
    before_calls++;
    if (before_refuses) {
        return pm_http_send_error(q, HTTP_FORBIDDEN, "not_staff", "no", NULL);
    }
    return PM_NEXT;
}

/* dispatch METHOD URI below <Location /portal-manager/api>; returns r->status
 * (0 when a handler ran without setting one) */
static int dispatch(const char *method, const char *uri, request_rec **out)
{
    request_rec *r = fake_request(pool, method, uri, 0);
    pm_req *q = pm_http_begin(r);

    fake_location(r, "/portal-manager", "something-else");
    fake_location(r, "/portal-manager/api/", "portal-manager");
    ran = NULL;
    memset(ran_ids, 0, sizeof(ran_ids));
    before_calls = 0;
    pm_route_dispatch(q, routes, before);
    if (out) *out = r;
    return r->status;
}

static void test_match(void)
{
    long long ids[4];
    int n;

    ok(pm_route_match("/me", "/me", ids, &n) && n == 0, "/me matches /me");
    ok(!pm_route_match("/me", "/me/", ids, &n), "/me does not match /me/");
    ok(!pm_route_match("/me", "/mex", ids, &n), "/me does not match /mex");
    ok(pm_route_match("/clients/{id}/invitations/{id}", "/clients/12/invitations/345", ids, &n)
       && n == 2 && ids[0] == 12 && ids[1] == 345, "two ids captured in order");
    ok(!pm_route_match("/clients/{id}", "/clients/0", ids, &n), "id 0 is not an id");
    ok(!pm_route_match("/clients/{id}", "/clients/012", ids, &n), "a leading zero is not an id");
    ok(!pm_route_match("/clients/{id}", "/clients/-1", ids, &n), "a sign is not an id");
    ok(!pm_route_match("/clients/{id}", "/clients/1e3", ids, &n), "1e3 is not an id");
    ok(!pm_route_match("/clients/{id}", "/clients/1234567890123456", ids, &n),
       "16 digits is too long an id");
    ok(pm_route_match("/clients/{id}", "/clients/123456789012345", ids, &n)
       && ids[0] == 123456789012345LL, "15 digits is an id");
    ok(!pm_route_match("/clients/{id}", "/clients/", ids, &n), "an empty segment is not an id");
    ok(!pm_route_match("/clients/{id}", "/clients//", ids, &n), "a double slash does not match");
}

static void test_dispatch(void)
{
    request_rec *r;

    dispatch("GET", "/portal-manager/api/me", NULL);
    is_str(ran, "me", "GET /me runs its handler");
    ok(before_calls == 1, "the before check ran once");

    dispatch("HEAD", "/portal-manager/api/me", NULL);
    is_str(ran, "me", "HEAD /me is answered by the GET route");

    dispatch("DELETE", "/portal-manager/api/clients/7/invitations/42", NULL);
    ok(ran && strcmp(ran, "revoke") == 0 && ran_ids[0] == 7 && ran_ids[1] == 42,
       "DELETE with two ids reaches its handler with both");

    ok(dispatch("GET", "/portal-manager/api/nothing", NULL) == 404 && ran == NULL,
       "an unknown path: 404, no handler");
    is_str(fake_error_code(pool), "not_found", "404 says not_found");
    ok(before_calls == 0, "the before check does not run for a 404");
    ok(dispatch("GET", "/portal-manager/api/clients/abc", NULL) == 404, "a non-numeric id: 404");
    ok(dispatch("GET", "/portal-manager/me", NULL) == 404,
       "a path outside the SetHandler Location: 404");

    ok(dispatch("PUT", "/portal-manager/api/clients/3", &r) == 405 && ran == NULL,
       "a known path with another method: 405");
    is_str(apr_table_get(r->err_headers_out, "Allow"), "GET, HEAD", "Allow: GET, HEAD");
    is_str(fake_error_code(pool), "method_not_allowed", "405 says method_not_allowed");
    ok(before_calls == 0, "the before check does not run for a 405");
    ok(dispatch("GET", "/portal-manager/api/clients/3/invitations", &r) == 405, "GET on a POST route: 405");
    is_str(apr_table_get(r->err_headers_out, "Allow"), "POST", "Allow: POST");

    before_refuses = 1;
    ok(dispatch("POST", "/portal-manager/api/clients/3/invitations", NULL) == 403 && ran == NULL,
       "a before check that answers stops the handler");
    before_refuses = 0;
    ok(before_calls == 1, "... and it ran once");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_match();
    test_dispatch();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
