/* fake_httpd.h — a small fake request for the unit tests of the httpd-facing
 * code (libpmhttpd): a request_rec on an APR pool, with headers, method, URI,
 * body and the <Location> sections routing reads; the response is captured.
 * fake_httpd.c also stubs the few httpd functions those files call. */
#ifndef FAKE_HTTPD_H
#define FAKE_HTTPD_H

#include "pm_common.h"

/* A request for METHOD URI on http://portal.example.org (port 80), handler
 * "portal-manager", PortalMaxBodySize max_body (0: unset, the default). */
request_rec *fake_request(apr_pool_t *p, const char *method, const char *uri,
                          long long max_body);

/* <Location path> with "SetHandler handler" in the fake server's configuration. */
void fake_location(request_rec *r, const char *path, const char *handler);

/* The request body the handler will read (Content-Length is set from it unless
 * chunked, which sets Transfer-Encoding instead). */
void fake_body(request_rec *r, const char *body, int chunked);

/* What the handler wrote, and the "code" of an error envelope (NULL if none). */
const char *fake_response(void);
const char *fake_error_code(apr_pool_t *p);

/* The last message logged through ap_log_rerror/ap_log_error (its PMnnnnn id
 * first), and how many were logged. */
const char *fake_last_log(void);
int fake_log_count(void);

#endif
