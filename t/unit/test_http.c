/* Unit tests for the protections every route shares (src/httpd/pm_http.c): the CSRF
 * checks, the body limit (413), the JSON content type (415) and media-type
 * parameters, the query string reader and the id rule (pm_http_query.c), and JSON
 * strictness (malformed, duplicate keys, non-object, unknown fields), on a fake
 * request (fake_httpd.c); and pm_json_set_str, which never drops a key for bad UTF-8. */
#include "pm_http.h"
#include "pm_json.h"
#include "fake_httpd.h"
#include "tap.h"

static apr_pool_t *pool;

/* ---- CSRF ------------------------------------------------------------------- */

/* pm_http_check_csrf on METHOD with the given headers (NULL: absent); returns
 * the status it answered with, or 0 when it let the request through. */
static int csrf(const char *method, const char *xrw, const char *site, const char *origin)
{
    request_rec *r = fake_request(pool, method, "/portal-manager/api/me", 0);
    pm_req *q = pm_http_begin(r);

    if (xrw) apr_table_setn(r->headers_in, "X-Requested-With", xrw);
    if (site) apr_table_setn(r->headers_in, "Sec-Fetch-Site", site);
    if (origin) apr_table_setn(r->headers_in, "Origin", origin);
    return pm_http_check_csrf(q) == PM_NEXT ? 0 : r->status;
}

static void test_csrf(void)
{
    const char *own = "http://portal.example.org";

    ok(csrf("GET", NULL, NULL, NULL) == 0, "GET without any header passes");
    ok(csrf("HEAD", NULL, "none", NULL) == 0, "HEAD typed in the address bar (Sec-Fetch-Site: none) passes");
    ok(csrf("GET", NULL, "same-origin", own) == 0, "GET same-origin with our Origin passes");
    ok(csrf("GET", NULL, "cross-site", NULL) == 403, "GET cross-site: 403");
    ok(csrf("GET", NULL, "same-site", NULL) == 403, "GET same-site (another subdomain): 403");
    ok(csrf("GET", NULL, NULL, "http://evil.example") == 403, "GET with a foreign Origin: 403");
    is_str(fake_error_code(pool), "csrf", "the error code is csrf");

    ok(csrf("POST", "portal-manager", NULL, NULL) == 0, "POST with X-Requested-With passes");
    ok(csrf("POST", "portal-manager", "same-origin", "HTTP://PORTAL.EXAMPLE.ORG") == 0,
       "POST same-origin, Origin compared without case");
    ok(csrf("POST", NULL, NULL, NULL) == 403, "POST without X-Requested-With: 403");
    ok(csrf("POST", "XMLHttpRequest", NULL, NULL) == 403, "POST with another X-Requested-With: 403");
    ok(csrf("POST", "portal-manager", "none", NULL) == 403,
       "POST with Sec-Fetch-Site: none (not a page of ours): 403");
    ok(csrf("PUT", "portal-manager", "cross-site", NULL) == 403, "PUT cross-site: 403");
    ok(csrf("DELETE", "portal-manager", NULL, "http://portal.example.org:8080") == 403,
       "DELETE from our host on another port: 403");
    ok(csrf("PATCH", "portal-manager", NULL, own) == 0, "PATCH from our origin passes");
}

/* ---- body: limit, content type, JSON strictness ------------------------------ */

/* pm_http_read_json_body with this body and Content-Type (NULL: none); returns
 * the status it answered with, or 0 when q->body was set (or left NULL). */
static int read_body(const char *body, const char *type, long long limit, int chunked,
                     pm_req **out)
{
    request_rec *r = fake_request(pool, "POST", "/portal-manager/api/clients/1/invitations",
                                  limit);
    pm_req *q = pm_http_begin(r);

    if (body) fake_body(r, body, chunked);
    if (type) apr_table_setn(r->headers_in, "Content-Type", type);
    if (out) *out = q;
    return pm_http_read_json_body(q) == PM_NEXT ? 0 : r->status;
}

static void test_body_limit(void)
{
    pm_req *q;
    const char *json = "{\"note\":\"0123456789\"}";     /* 21 bytes */

    ok(read_body(json, "application/json", 21, 0, &q) == 0 && q->body != NULL,
       "a body of exactly the limit is read");
    ok(read_body(json, "application/json", 20, 0, NULL) == 413,
       "one byte over the limit (Content-Length): 413");
    is_str(fake_error_code(pool), "body_too_large", "413 says body_too_large");
    ok(read_body(json, "application/json", 20, 1, NULL) == 413,
       "one byte over the limit, chunked (no Content-Length): 413");
    ok(read_body(json, "application/json", 21, 1, &q) == 0 && q->body != NULL,
       "chunked at the limit is read");
    ok(read_body(NULL, NULL, 0, 0, &q) == 0 && q->body == NULL, "no body: no document");
    ok(read_body(json, "text/plain", 20, 0, NULL) == 413,
       "too large is answered before the content type is looked at");
}

static void test_content_type(void)
{
    const char *json = "{}";

    ok(read_body(json, NULL, 0, 0, NULL) == 415, "no Content-Type: 415");
    is_str(fake_error_code(pool), "unsupported_media_type", "415 says unsupported_media_type");
    ok(read_body(json, "text/plain", 0, 0, NULL) == 415, "text/plain: 415");
    ok(read_body(json, "application/x-www-form-urlencoded", 0, 0, NULL) == 415, "a form: 415");
    ok(read_body(json, "application/jsonp", 0, 0, NULL) == 415, "application/jsonp: 415");
    ok(read_body(json, "application/json; charset=latin1", 0, 0, NULL) == 415,
       "JSON in another charset: 415");
    ok(read_body(json, "Application/JSON", 0, 0, NULL) == 0, "the type without case passes");
    ok(read_body(json, "application/json; charset=UTF-8", 0, 0, NULL) == 0,
       "charset=UTF-8 passes");
    ok(read_body(json, "application/json; charset=\"utf-8\"", 0, 0, NULL) == 0,
       "a quoted charset passes");
    ok(read_body(json, "application/json;charset=\"UTF-8\" ; ;", 0, 0, NULL) == 0,
       "no space, empty parameters: passes");
    ok(read_body(json, "application/json; charset=\"utf-8", 0, 0, NULL) == 415,
       "a quote never closed: 415");
    ok(read_body(json, "application/json; charset = utf-8", 0, 0, NULL) == 415,
       "spaces around '=': 415");
    ok(read_body(json, "application/json; x-charset=utf-8x; charset=utf-16", 0, 0, NULL) == 415,
       "the charset parameter itself is read, not a name ending in charset: 415");
}

/* pm_http_media_type: the type and the charset, quoted-pairs unescaped */
static void test_media_type(void)
{
    const char *cs;

    ok(pm_http_media_type(pool, "text/csv; charset=\"win\\dows-1252\"", "text/csv", &cs)
       && cs && strcmp(cs, "windows-1252") == 0, "a quoted-pair is unescaped");
    ok(pm_http_media_type(pool, "text/csv;header=present", "text/csv", &cs) && cs == NULL,
       "another parameter: the type, no charset");
    ok(!pm_http_media_type(pool, "text/csvx", "text/csv", &cs), "a longer type is another type");
    ok(!pm_http_media_type(pool, "text/csv; =x", "text/csv", &cs), "a parameter without a name");
}

/* pm_http_read_query on ARGS with KEYS: 0, or the status it answered with */
static int query(const char *args, const char *const *keys, apr_table_t **out)
{
    request_rec *r = fake_request(pool, "GET", "/portal-manager/api/clients", 0);
    pm_req *q = pm_http_begin(r);

    r->args = args ? apr_pstrdup(pool, args) : NULL;
    return pm_http_read_query(q, keys, out) == PM_NEXT ? 0 : r->status;
}

static void test_query(void)
{
    static const char *const keys[] = { "limit", "q", NULL };
    apr_table_t *t;
    long long id;

    ok(query(NULL, NULL, &t) == 0 && apr_is_empty_table(t), "no query string: no keys");
    ok(query("limit=5&q=a+b%2Bc%C3%A9&", keys, &t) == 0
       && strcmp(apr_table_get(t, "q"), "a b+c\xc3\xa9") == 0, "+ a space, %%XX a byte");
    ok(query("x=1", NULL, NULL) == 400, "a route that takes none: 400");
    ok(strstr(fake_response(), "\"field\":\"x\"") != NULL, "the field is the key");
    ok(query("limit=1&limit=1", keys, NULL) == 400, "a key twice: 400");
    ok(query("limit", keys, NULL) == 400, "a key without '=': 400");
    ok(query("limit=", keys, &t) == 0 && strcmp(apr_table_get(t, "limit"), "") == 0,
       "an empty value is the route's to judge");
    ok(query("limit=1%00", keys, NULL) == 400, "%%00: 400");
    ok(query("limit=%2", keys, NULL) == 400, "a cut escape: 400");
    ok(query("limit=%g0", keys, NULL) == 400, "a bad escape: 400");
    ok(query("q=%FF", keys, NULL) == 400, "not UTF-8: 400");
    ok(query("l%69mit=5", keys, &t) == 0 && apr_table_get(t, "limit"), "keys are decoded too");
    ok(pm_http_parse_id("123456789012345", 15, &id) && id == 123456789012345LL, "15 digits: an id");
    ok(!pm_http_parse_id("1234567890123456", 16, &id), "16 digits: not an id");
    ok(!pm_http_parse_id("05", 2, &id) && !pm_http_parse_id("+5", 2, &id)
       && !pm_http_parse_id(" 5", 2, &id) && !pm_http_parse_id("", 0, &id),
       "a leading zero, sign or space, or nothing: not an id");
}

static void test_json_strictness(void)
{
    pm_req *q;
    static const char *const allowed[] = { "note", "email", NULL };

    ok(read_body("{\"note\":1,\"note\":2}", "application/json", 0, 0, NULL) == 400,
       "a duplicate key: 400");
    is_str(fake_error_code(pool), "invalid_json", "duplicate key: invalid_json");
    ok(read_body("[1,2]", "application/json", 0, 0, NULL) == 400, "an array: 400");
    ok(read_body("\"text\"", "application/json", 0, 0, NULL) == 400, "a string: 400");
    ok(read_body("{\"note\":", "application/json", 0, 0, NULL) == 400, "truncated JSON: 400");
    ok(read_body("{} {}", "application/json", 0, 0, NULL) == 400, "two documents: 400");

    ok(read_body("{\"note\":\"x\",\"email\":\"a@example.org\"}", "application/json", 0, 0, &q) == 0,
       "an object is read");
    ok(pm_http_check_fields(q, allowed) == PM_NEXT, "known fields pass");
    ok(read_body("{\"note\":\"x\",\"admin\":true}", "application/json", 0, 0, &q) == 0,
       "an object with an extra field is read");
    ok(pm_http_check_fields(q, allowed) != PM_NEXT && q->r->status == 400,
       "an unknown field: 400");
    is_str(fake_error_code(pool), "unknown_field", "unknown field: unknown_field");
    ok(strstr(fake_response(), "\"field\":\"admin\"") != NULL, "the envelope names the field");
}

/* Text that is not UTF-8 (a value cut inside a character) keeps its key: the bad
 * bytes become U+FFFD. Jansson alone refuses it, and the key used to vanish. */
static void test_json_text(void)
{
    json_t *o = pm_json_object(pool);
    const char *v;

    pm_json_set_str(o, "message", "column 1 is 'a\xC3\xA9\xC3'");
    v = json_string_value(json_object_get(o, "message"));
    ok(v != NULL, "invalid UTF-8: the key is kept");
    is_str(v ? v : "", "column 1 is 'a\xC3\xA9\xEF\xBF\xBD'", "invalid UTF-8: U+FFFD for the bad byte");
    pm_json_set_str(o, "bytes", "\xFF\xFE");
    v = json_string_value(json_object_get(o, "bytes"));
    is_str(v ? v : "", "\xEF\xBF\xBD\xEF\xBF\xBD", "two bad bytes: two U+FFFD");
    pm_json_set_str(o, "name", "Zo\xC3\xAB");
    is_str(json_string_value(json_object_get(o, "name")), "Zo\xC3\xAB", "valid UTF-8 unchanged");
    pm_json_set_str(o, "none", NULL);
    ok(json_is_null(json_object_get(o, "none")), "NULL is still null");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_csrf();
    test_body_limit();
    test_content_type();
    test_media_type();
    test_query();
    test_json_strictness();
    test_json_text();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
