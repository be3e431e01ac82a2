/* pm_http.h — the HTTP edge shared by both handlers: request context, security
 * headers, JSON responses and the error envelope, CSRF checks, and reading a
 * JSON body within the configured limit. */
#ifndef PM_HTTP_H
#define PM_HTTP_H

#include "pm_common.h"
#include "pm_json.h"

/* Checks return PM_NEXT to go on, or OK after they have sent a response. */
#define PM_NEXT 1000

struct pm_db;
struct pm_staff;

/* One API request. Every handler calls it `q` (a request, as `r` is httpd's
 * request_rec it wraps): short because it is on nearly every line. */
typedef struct pm_req {
    request_rec *r;
    const char *request_id;
    const char *path;          /* path relative to the API base, e.g. "/me" */
    long long ids[4];          /* numbers captured by {id} in the route pattern */
    int nids;
    json_t *body;              /* parsed JSON object, or NULL when no body */
    struct pm_db *db;
    struct pm_staff *staff;
} pm_req;

/* Request context with security headers already set on the response. */
pm_req *pm_http_begin(request_rec *r);

int pm_http_send_json(pm_req *q, int status, json_t *body);
/* The same for a body already serialized by pm_json_text (sent as it is, then '\n'). */
int pm_http_send_json_text(pm_req *q, int status, const char *text);
/* The same error document with `extra`'s members added at its top level. */
int pm_http_send_error_with(pm_req *q, int status, const char *code, const char *message,
                            const char *field, json_t *extra);
int pm_http_send_error(pm_req *q, int status, const char *code, const char *message,
                       const char *field);

/* The error answers the routes share: 409 (a state that forbids the change), 422
 * (a value that cannot be used), 400 invalid_parameter (a query parameter). */
int pm_http_conflict(pm_req *q, const char *code, const char *message);
int pm_http_unprocessable(pm_req *q, const char *code, const char *message, const char *field);
int pm_http_bad_parameter(pm_req *q, const char *field, const char *message);

/* httpd's own error answers on the module's routes (401 from the auth module, 403
 * from a Require, 413 from LimitRequestBody, ...) sent as the JSON error envelope
 * (`forbidden`, `not_authenticated`, ...) instead of httpd's HTML page. */
void pm_http_register_error_filter(void);
void pm_http_insert_error_filter(request_rec *r);

/* 503 database_unavailable: the one answer for any database failure. */
int pm_http_db_unavailable(pm_req *q);

/* State-changing requests must carry X-Requested-With: portal-manager and, when
 * present, Sec-Fetch-Site: same-origin and an Origin equal to our own. */
int pm_http_check_csrf(pm_req *q);

/* Content-Type ct is the media type `type` (any case) with well-formed parameters
 * (token or quoted-string values): 1 with *charset (may be NULL) the charset
 * parameter's value unquoted, or NULL without one; else 0. */
int pm_http_media_type(apr_pool_t *p, const char *ct, const char *type, const char **charset);
/* 415 unsupported_encoding (`message`) for a request body with a Content-Encoding
 * other than identity (none is ever decoded); else PM_NEXT. */
int pm_http_check_identity_encoding(pm_req *q, const char *message);

/* Reads the body into q->body: 413 over the limit, 415 if not application/json
 * (charset, when given, UTF-8) or for a Content-Encoding (compressed),
 * 400 for malformed JSON, duplicate keys or a non-object. No body -> q->body NULL. */
int pm_http_read_json_body(pm_req *q);

/* A body that is not JSON (PUT /admin/roster), read whole within the limit before
 * any transaction opens, so a slow client never holds the database: PM_NEXT with
 * *out, or it sent 413 body_too_large / 400 invalid_body. Kept as 64 KiB chunks
 * (no copy of the limit's size up front); pm_http_body_read hands them on in
 * order (the signature of pm_roster_read_fn). */
typedef struct pm_http_body pm_http_body;
int pm_http_read_raw_body(pm_req *q, pm_http_body **out);
apr_status_t pm_http_body_read(void *ctx, char *buf, apr_size_t *len);
apr_off_t pm_http_body_length(const pm_http_body *b);

/* The query string (pm_http_query.c), read the same way for every route: `+` is a
 * space and %XX a byte; PM_NEXT with *out (may be NULL) holding each key once, or
 * 400 invalid_parameter (field: the key) for a key not in `keys` (NULL-terminated;
 * NULL: the route takes none), a key without `=`, a key given twice, a broken
 * escape, a NUL, or a value that is not UTF-8 text (pm_utf8_valid). */
int pm_http_read_query(pm_req *q, const char *const *keys, apr_table_t **out);

/* The id rule of the whole API (the path's {id}, the query's ids and numbers): 1 to
 * PM_ID_MAX_DIGITS digits, no sign, space or leading zero. 1 with *out, else 0. */
#define PM_ID_MAX_DIGITS 15
int pm_http_parse_id(const char *s, apr_size_t len, long long *out);
/* args[name] in *out (NULL when absent): PM_NEXT, or 400 invalid_parameter with
 * `message` when it is not an id. */
int pm_http_query_id(pm_req *q, apr_table_t *args, const char *name, const char *message,
                     const char **out);

/* 400 unknown_field when the body has a key not in `allowed` (NULL-terminated). */
int pm_http_check_fields(pm_req *q, const char *const *allowed);
/* The request body's member `name` (borrowed), or NULL without a body or member. */
json_t *pm_http_body_field(const pm_req *q, const char *name);

#endif
