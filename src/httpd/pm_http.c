/* pm_http.c — request context, response writing and the protections every route
 * shares (headers, CSRF, no byte ranges, body limits and media types). Handlers
 * write JSON only through here. */
#include "pm_http.h"
#include "pm_config.h"
#include "pm_charset.h"
#include "pm_token.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_lib.h"

APLOG_USE_MODULE(portal_manager);

static void set_security_headers(request_rec *r)
{
    apr_table_t *h = r->err_headers_out;   /* sent with every response, errors too */

    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    apr_table_setn(h, "Referrer-Policy", "no-referrer");
}

static const char *make_request_id(request_rec *r)
{
    const char *unique = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    const char *hex;

    if (unique && *unique) {
        return unique;
    }
    hex = pm_random_hex(r->pool, 12);
    return hex ? hex : apr_psprintf(r->pool, "%" APR_TIME_T_FMT, r->request_time);
}

pm_req *pm_http_begin(request_rec *r)
{
    pm_req *q = apr_pcalloc(r->pool, sizeof(*q));

    q->r = r;
    q->request_id = make_request_id(r);
    set_security_headers(r);
    apr_table_setn(r->err_headers_out, "X-Request-Id", q->request_id);
    /* a part of a JSON answer or of a CSV export is of no use to anyone: Range and
     * If-Range are ignored (200, the whole answer; never 206 or 416) */
    ap_remove_output_filter_byhandle(r->output_filters, "BYTERANGE");
    return q;
}

int pm_http_send_json(pm_req *q, int status, json_t *body)
{
    return pm_http_send_json_text(q, status, pm_json_text(q->r->pool, body));
}

int pm_http_send_json_text(pm_req *q, int status, const char *text)
{
    request_rec *r = q->r;
    apr_size_t len = strlen(text);

    r->status = status;
    ap_set_content_type(r, "application/json; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)len + 1);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
        ap_rputc('\n', r);
    }
    return OK;
}

int pm_http_send_error(pm_req *q, int status, const char *code, const char *message,
                       const char *field)
{
    return pm_http_send_error_with(q, status, code, message, field, NULL);
}

int pm_http_send_error_with(pm_req *q, int status, const char *code, const char *message,
                            const char *field, json_t *extra)
{
    apr_pool_t *p = q->r->pool;
    json_t *doc = pm_json_object(p);
    json_t *err = json_object();

    pm_json_set_str(err, "code", code);
    pm_json_set_str(err, "message", message);
    if (field) {
        pm_json_set_str(err, "field", field);
    }
    json_object_set_new(doc, "error", err);
    pm_json_set_str(doc, "request_id", q->request_id);
    if (extra) {
        json_object_update(doc, extra);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, PM_LOGNO(00020)
                  "%d %s (request %s)", status, code, q->request_id);
    return pm_http_send_json(q, status, doc);
}

int pm_http_conflict(pm_req *q, const char *code, const char *message)
{
    return pm_http_send_error(q, HTTP_CONFLICT, code, message, NULL);
}

int pm_http_unprocessable(pm_req *q, const char *code, const char *message, const char *field)
{
    return pm_http_send_error(q, HTTP_UNPROCESSABLE_ENTITY, code, message, field);
}

int pm_http_bad_parameter(pm_req *q, const char *field, const char *message)
{
    return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_parameter", message, field);
}

int pm_http_db_unavailable(pm_req *q)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", "5");
    return pm_http_send_error(q, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                              "The practice database is not available right now. "
                              "Please try again in a moment.", NULL);
}

/* Errors httpd answers itself on the module's routes — a refused Require (403),
 * a wrong password (401), a body over LimitRequestBody (413) — come in the same
 * JSON envelope as the module's own, so an integration reads one shape. */
#define JSON_ERROR_FILTER "PORTAL_MANAGER_JSON_ERROR"

typedef struct {
    int status;
    const char *code;
    const char *message;
} httpd_error;

static const httpd_error httpd_errors[] = {
    { HTTP_BAD_REQUEST, "bad_request", "The request could not be read." },
    { HTTP_UNAUTHORIZED, "not_authenticated",
      "Sign in first: the user name or password was missing or not accepted." },
    { HTTP_FORBIDDEN, "forbidden",
      "Your account is not allowed to do this. Ask the practice's administrator." },
    { HTTP_NOT_FOUND, "not_found", "There is nothing at this address." },
    { HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "This address does not take that method." },
    { HTTP_REQUEST_TIME_OUT, "request_timeout", "The request took too long to arrive." },
    { HTTP_LENGTH_REQUIRED, "length_required", "The request must say how long its body is." },
    { HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large", "The request body is too large." },
    { HTTP_REQUEST_URI_TOO_LARGE, "uri_too_long", "The address is too long." },
    { HTTP_SERVICE_UNAVAILABLE, "unavailable",
      "The service is not available right now. Please try again in a moment." },
};

static int is_module_route(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *handler;

    if (d == NULL || d->expr_handler == NULL) {
        return 0;
    }
    handler = ap_expr_str_exec(r, d->expr_handler, &err);
    return err == NULL && handler != NULL
           && (strcmp(handler, "portal-manager") == 0
               || strcmp(handler, "portal-invitation") == 0);
}

static const char *httpd_error_text(request_rec *r)
{
    apr_pool_t *p = r->pool;
    json_t *doc = pm_json_object(p);
    json_t *err = json_object();
    const char *code = apr_psprintf(p, "http_%d", r->status);
    const char *message = "The server could not answer this request.";
    const char *id = make_request_id(r);
    apr_size_t i;

    for (i = 0; i < sizeof(httpd_errors) / sizeof(httpd_errors[0]); i++) {
        if (httpd_errors[i].status == r->status) {
            code = httpd_errors[i].code;
            message = httpd_errors[i].message;
            break;
        }
    }
    pm_json_set_str(err, "code", code);
    pm_json_set_str(err, "message", message);
    json_object_set_new(doc, "error", err);
    pm_json_set_str(doc, "request_id", id);
    apr_table_setn(r->err_headers_out, "X-Request-Id", id);
    return apr_pstrcat(p, pm_json_text(p, doc), "\n", NULL);
}

/* Drops httpd's HTML page and sends the envelope in its place. */
static apr_status_t json_error_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket *b, *next;
    const char *text;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
    }
    if (f->ctx == NULL) {
        f->ctx = r;    /* the envelope is sent once */
        text = httpd_error_text(r);
        set_security_headers(r);
        ap_set_content_type(r, "application/json; charset=utf-8");
        if (!r->header_only) {
            APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_pool_create(text, strlen(text), r->pool,
                                                               bb->bucket_alloc));
        }
    }
    return ap_pass_brigade(f->next, bb);
}

void pm_http_register_error_filter(void)
{
    ap_register_output_filter(JSON_ERROR_FILTER, json_error_filter, NULL, AP_FTYPE_RESOURCE);
}

void pm_http_insert_error_filter(request_rec *r)
{
    if (r->status >= 400 && is_module_route(r)) {
        ap_add_output_filter(JSON_ERROR_FILTER, NULL, r, r->connection);
    }
}

/* Our own origin as a browser would write it: scheme://host[:port]. */
static const char *own_origin(request_rec *r)
{
    const char *scheme = ap_http_scheme(r);
    apr_port_t port = ap_get_server_port(r);
    const char *host = r->hostname ? r->hostname : r->server->server_hostname;

    if (ap_strchr_c(host, ':') != NULL) {          /* IPv6 literal */
        host = apr_pstrcat(r->pool, "[", host, "]", NULL);
    }
    if (port == ap_default_port(r)) {
        return apr_pstrcat(r->pool, scheme, "://", host, NULL);
    }
    return apr_psprintf(r->pool, "%s://%s:%u", scheme, host, (unsigned)port);
}

/* Every method: a request another site's page made the browser send (its
 * Sec-Fetch-Site says so, or its Origin is not ours) is refused before anything
 * runs, reads too — a hostile page must not be able to fill the audit trail
 * under a clinician's name. A typed URL (Sec-Fetch-Site: none) is a read only.
 * State-changing methods also need X-Requested-With, which no form can send. */
int pm_http_check_csrf(pm_req *q)
{
    request_rec *r = q->r;
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int read_only = r->method_number == M_GET;     /* GET and HEAD */

    if (site != NULL && strcmp(site, "same-origin") != 0
        && !(read_only && strcmp(site, "none") == 0)) {
        return pm_http_send_error(q, HTTP_FORBIDDEN, "csrf",
                                  "Cross-site requests are not accepted.", NULL);
    }
    if (origin != NULL && strcasecmp(origin, own_origin(r)) != 0) {
        return pm_http_send_error(q, HTTP_FORBIDDEN, "csrf",
                                  "Requests from another origin are not accepted.", NULL);
    }
    if (!read_only && (xrw == NULL || strcmp(xrw, "portal-manager") != 0)) {
        return pm_http_send_error(q, HTTP_FORBIDDEN, "csrf",
                                  "This request must come from the practice's own portal "
                                  "pages (header X-Requested-With: portal-manager missing).",
                                  NULL);
    }
    return PM_NEXT;
}

/* The next parameter of a media type at *s (past the type or the last parameter):
 * 1 with *name and *value (a quoted-string unquoted), 0 at the end, -1 malformed. */
static int media_next_param(apr_pool_t *p, const char **s, const char **name,
                            const char **value)
{
    const char *c = *s;
    apr_size_t n;
    char *v;

    do {                                         /* empty parameters (";;") are allowed */
        while (apr_isspace(*c)) {
            c++;
        }
        if (*c == '\0') {
            return 0;
        }
        if (*c++ != ';') {
            return -1;
        }
        while (apr_isspace(*c)) {
            c++;
        }
    } while (*c == ';' || *c == '\0');
    n = strcspn(c, "=; \t\"");
    if (n == 0 || c[n] != '=') {
        return -1;
    }
    *name = apr_pstrmemdup(p, c, n);
    c += n + 1;
    if (*c == '"') {
        for (*value = v = apr_palloc(p, strlen(c)), c++; *c != '"'; c++) {
            if (*c == '\0') {
                return -1;
            }
            if (*c == '\\' && c[1] != '\0') {        /* a quoted-pair */
                c++;
            }
            *v++ = *c;
        }
        *v = '\0';
        c++;
    }
    else if ((n = strcspn(c, "; \t\"")) > 0) {
        *value = apr_pstrmemdup(p, c, n);
        c += n;
    }
    else {
        return -1;
    }
    *s = c;
    return 1;
}

int pm_http_media_type(apr_pool_t *p, const char *ct, const char *type, const char **charset)
{
    apr_size_t n = strlen(type);
    const char *rest, *name, *value;
    int rc;

    if (charset) {
        *charset = NULL;
    }
    if (ct == NULL || strncasecmp(ct, type, n) != 0
        || (ct[n] != '\0' && ct[n] != ';' && !apr_isspace(ct[n]))) {
        return 0;
    }
    for (rest = ct + n; (rc = media_next_param(p, &rest, &name, &value)) == 1; ) {
        if (charset && strcasecmp(name, "charset") == 0) {
            *charset = value;
        }
    }
    return rc == 0;
}

/* application/json, in UTF-8 when it names a charset (`charset="UTF-8"` too) */
static int is_json_content_type(apr_pool_t *p, const char *ct)
{
    const char *cs;

    return pm_http_media_type(p, ct, "application/json", &cs)
           && (cs == NULL || pm_charset_is_utf8(cs));
}

int pm_http_check_identity_encoding(pm_req *q, const char *message)
{
    const char *enc = apr_table_get(q->r->headers_in, "Content-Encoding");

    if (enc && *enc && strcasecmp(enc, "identity") != 0) {
        return pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding",
                                  message, NULL);
    }
    return PM_NEXT;
}

static int body_too_large(pm_req *q, long long limit)
{
    return pm_http_send_error(q, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                              apr_psprintf(q->r->pool,
                                           "The request body is larger than %" APR_INT64_T_FMT " bytes.", (apr_int64_t)limit),
                              NULL);
}

/* Read at most limit bytes; *len = -1 when the body is larger. */
static int read_body(request_rec *r, long long limit, char **buf, long long *len)
{
    char *data = apr_palloc(r->pool, (apr_size_t)limit + 1);
    long long got = 0;
    char scratch[1024];
    long n;
    int rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);

    if (rc != OK) {
        return rc;
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, scratch, sizeof(scratch))) > 0) {
            if (got + n > limit) {
                got = -1;
                while (ap_get_client_block(r, scratch, sizeof(scratch)) > 0) {
                }
                break;
            }
            memcpy(data + got, scratch, (size_t)n);
            got += n;
        }
        if (n < 0) {
            return HTTP_BAD_REQUEST;
        }
    }
    if (got >= 0) {
        data[got] = '\0';
    }
    *buf = data;
    *len = got;
    return OK;
}

int pm_http_read_json_body(pm_req *q)
{
    request_rec *r = q->r;
    long long limit = pm_config_max_body(r);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    const char *err = NULL;
    char *buf;
    long long len;
    json_t *doc;
    int rc;

    if ((cl == NULL || strcmp(cl, "0") == 0) && te == NULL) {
        q->body = NULL;
        return PM_NEXT;
    }
    if (cl != NULL && apr_atoi64(cl) > limit) {
        return body_too_large(q, limit);
    }
    if ((rc = pm_http_check_identity_encoding(q, "The request body must be sent "
                                              "uncompressed (no Content-Encoding)."))
        != PM_NEXT) {
        return rc;
    }
    if (!is_json_content_type(r->pool, apr_table_get(r->headers_in, "Content-Type"))) {
        return pm_http_send_error(q, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                  "The request body must be JSON "
                                  "(Content-Type: application/json).", NULL);
    }
    if (read_body(r, limit, &buf, &len) != OK) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_body",
                                  "The request body could not be read.", NULL);
    }
    if (len < 0) {
        return body_too_large(q, limit);
    }
    doc = pm_json_parse(r->pool, buf, (apr_size_t)len, &err);
    if (doc == NULL) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_json",
                                  apr_pstrcat(r->pool, "The request body is not valid JSON: ",
                                              err, NULL), NULL);
    }
    if (!json_is_object(doc)) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_json",
                                  "The request body must be a JSON object.", NULL);
    }
    q->body = doc;
    return PM_NEXT;
}

#define BODY_CHUNK 65536

struct pm_http_body {
    apr_array_header_t *chunks;    /* of char *, each BODY_CHUNK bytes but the last */
    apr_off_t length;
    int next;                      /* the reader: chunk and offset */
    apr_size_t offset;
};

/* Fills chunk after chunk; *over when the body passes limit (the rest is drained). */
static int read_chunks(request_rec *r, long long limit, pm_http_body *b, int *over)
{
    char *chunk = NULL;
    apr_size_t fill = BODY_CHUNK;
    long n;

    *over = 0;
    for (;;) {
        if (fill == BODY_CHUNK) {
            chunk = apr_palloc(r->pool, BODY_CHUNK);
            APR_ARRAY_PUSH(b->chunks, char *) = chunk;
            fill = 0;
        }
        if ((n = ap_get_client_block(r, chunk + fill, BODY_CHUNK - fill)) <= 0) {
            break;
        }
        fill += (apr_size_t)n;
        b->length += n;
        if (b->length > limit) {
            char scratch[1024];
            *over = 1;
            while (ap_get_client_block(r, scratch, sizeof(scratch)) > 0) {
            }
            return OK;
        }
    }
    return n < 0 ? HTTP_BAD_REQUEST : OK;
}

int pm_http_read_raw_body(pm_req *q, pm_http_body **out)
{
    request_rec *r = q->r;
    long long limit = pm_config_max_body(r);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    pm_http_body *b = apr_pcalloc(r->pool, sizeof(*b));
    int over = 0;

    if (cl != NULL && apr_atoi64(cl) > limit) {
        return body_too_large(q, limit);
    }
    b->chunks = apr_array_make(r->pool, 16, sizeof(char *));
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK
        || (ap_should_client_block(r) && read_chunks(r, limit, b, &over) != OK)) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_body",
                                  "The request body could not be read.", NULL);
    }
    if (over) {
        return body_too_large(q, limit);
    }
    *out = b;
    return PM_NEXT;
}

apr_status_t pm_http_body_read(void *ctx, char *buf, apr_size_t *len)
{
    pm_http_body *b = ctx;
    apr_size_t want = *len, got = 0;

    while (got < want && b->next < b->chunks->nelts) {
        apr_off_t before = (apr_off_t)b->next * BODY_CHUNK + (apr_off_t)b->offset;
        apr_size_t left = (apr_size_t)(b->length - before);
        apr_size_t in_chunk = BODY_CHUNK - b->offset;
        apr_size_t n = want - got;

        n = n < in_chunk ? n : in_chunk;
        n = n < left ? n : left;
        if (n == 0) {
            break;
        }
        memcpy(buf + got, APR_ARRAY_IDX(b->chunks, b->next, char *) + b->offset, n);
        got += n;
        if ((b->offset += n) == BODY_CHUNK) {
            b->next++;
            b->offset = 0;
        }
    }
    *len = got;
    return APR_SUCCESS;
}

apr_off_t pm_http_body_length(const pm_http_body *b)
{
    return b->length;
}

json_t *pm_http_body_field(const pm_req *q, const char *name)
{
    return q->body ? json_object_get(q->body, name) : NULL;
}

int pm_http_check_fields(pm_req *q, const char *const *allowed)
{
    const char *key;
    json_t *value;

    if (q->body == NULL) {
        return PM_NEXT;
    }
    json_object_foreach(q->body, key, value) {
        const char *const *a;
        for (a = allowed; *a && strcmp(*a, key) != 0; a++) {
        }
        if (*a == NULL) {
            return pm_http_send_error(q, HTTP_BAD_REQUEST, "unknown_field",
                                      apr_psprintf(q->r->pool,
                                                   "The field '%s' is not accepted here.", key),
                                      key);
        }
    }
    return PM_NEXT;
}
