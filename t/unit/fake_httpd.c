/* fake_httpd.c — the fake request of fake_httpd.h, and test-only stubs for the
 * httpd functions that src/httpd/pm_http.c, pm_route.c and pm_config.c call: logging
 * (kept for the test to read), client-body reading (from fake_body), response
 * writing (captured), scheme/port, SetHandler expressions and the module record.
 * Only what those files need; nothing here is used by the module itself. */
#include "fake_httpd.h"

#include "http_config.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_expr.h"
#include "ap_regex.h"

#include <jansson.h>
#include <stdio.h>

#define FAKE_MODULE_INDEX 1
#define FAKE_NUM_MODULES  2

module AP_MODULE_DECLARE_DATA portal_manager_module = {
    .version = MODULE_MAGIC_NUMBER_MAJOR,
    .minor_version = MODULE_MAGIC_NUMBER_MINOR,
    .module_index = FAKE_MODULE_INDEX,
    .name = "mod_portal_manager.c",
};

/* the SetHandler value a fake <Location> names (its expression is this struct) */
typedef struct {
    ap_expr_info_t info;
    const char *value;
} fake_expr;

static struct {
    const char *body;
    apr_size_t body_len, body_pos;
    char out[65536];
    apr_size_t out_len;
    char log[1024];
    int log_count;
} fake;

request_rec *fake_request(apr_pool_t *p, const char *method, const char *uri,
                          long long max_body)
{
    request_rec *r = apr_pcalloc(p, sizeof(*r));
    server_rec *s = apr_pcalloc(p, sizeof(*s));
    core_server_config *core = apr_pcalloc(p, sizeof(*core));
    pm_dir_conf *dir = apr_pcalloc(p, sizeof(*dir));
    void **server_vec = apr_pcalloc(p, FAKE_NUM_MODULES * sizeof(void *));
    void **dir_vec = apr_pcalloc(p, FAKE_NUM_MODULES * sizeof(void *));

    memset(&fake, 0, sizeof(fake));
    core->sec_url = apr_array_make(p, 2, sizeof(ap_conf_vector_t *));
    server_vec[AP_CORE_MODULE_INDEX] = core;
    s->module_config = (ap_conf_vector_t *)server_vec;
    s->server_hostname = "portal.example.org";
    s->port = 80;
    dir->max_body_size = max_body > 0 ? max_body : PM_UNSET;
    dir_vec[FAKE_MODULE_INDEX] = dir;

    r->pool = p;
    r->server = s;
    r->connection = apr_pcalloc(p, sizeof(conn_rec));
    r->connection->pool = p;
    r->connection->base_server = s;
    r->per_dir_config = (ap_conf_vector_t *)dir_vec;
    r->method = method;
    r->method_number = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? M_GET
                       : strcmp(method, "POST") == 0 ? M_POST
                       : strcmp(method, "PUT") == 0 ? M_PUT
                       : strcmp(method, "DELETE") == 0 ? M_DELETE
                       : strcmp(method, "PATCH") == 0 ? M_PATCH : M_INVALID;
    r->header_only = strcmp(method, "HEAD") == 0;
    r->uri = r->unparsed_uri = apr_pstrdup(p, uri);
    r->hostname = s->server_hostname;
    r->handler = "portal-manager";
    r->headers_in = apr_table_make(p, 8);
    r->headers_out = apr_table_make(p, 8);
    r->err_headers_out = apr_table_make(p, 8);
    r->subprocess_env = apr_table_make(p, 4);
    r->notes = apr_table_make(p, 4);
    apr_table_setn(r->subprocess_env, "UNIQUE_ID", "fake-request-id");
    r->request_time = apr_time_now();
    return r;
}

void fake_location(request_rec *r, const char *path, const char *handler)
{
    apr_pool_t *p = r->pool;
    core_server_config *core = ap_get_core_module_config(r->server->module_config);
    core_dir_config *sec = apr_pcalloc(p, sizeof(*sec));
    fake_expr *expr = apr_pcalloc(p, sizeof(*expr));
    void **vec = apr_pcalloc(p, FAKE_NUM_MODULES * sizeof(void *));

    expr->value = handler;
    sec->d = apr_pstrdup(p, path);
    sec->expr_handler = &expr->info;
    vec[AP_CORE_MODULE_INDEX] = sec;
    APR_ARRAY_PUSH(core->sec_url, ap_conf_vector_t *) = (ap_conf_vector_t *)vec;
}

void fake_body(request_rec *r, const char *body, int chunked)
{
    fake.body = body;
    fake.body_len = strlen(body);
    fake.body_pos = 0;
    if (chunked) {
        apr_table_setn(r->headers_in, "Transfer-Encoding", "chunked");
    }
    else {
        apr_table_setn(r->headers_in, "Content-Length",
                       apr_psprintf(r->pool, "%" APR_SIZE_T_FMT, fake.body_len));
    }
}

const char *fake_response(void)
{
    fake.out[fake.out_len] = '\0';
    return fake.out;
}

const char *fake_error_code(apr_pool_t *p)
{
    json_t *doc = json_loads(fake_response(), 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
    const char *copy = code ? apr_pstrdup(p, code) : NULL;

    json_decref(doc);
    return copy;
}

const char *fake_last_log(void) { return fake.log; }
int fake_log_count(void) { return fake.log_count; }

/* ---- httpd stubs ------------------------------------------------------------ */

static void keep_log(const char *fmt, va_list ap)
{
    vsnprintf(fake.log, sizeof(fake.log), fmt, ap);
    fake.log_count++;
}

void ap_log_error_(const char *file, int line, int module_index, int level,
                   apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    keep_log(fmt, ap);
    va_end(ap);
}

void ap_log_rerror_(const char *file, int line, int module_index, int level,
                    apr_status_t status, const request_rec *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    keep_log(fmt, ap);
    va_end(ap);
}

const char *ap_expr_str_exec(request_rec *r, const ap_expr_info_t *expr, const char **err)
{
    return ((const fake_expr *)expr)->value;
}

int ap_regexec(const ap_regex_t *preg, const char *string, apr_size_t nmatch,
               ap_regmatch_t *pmatch, int eflags)
{
    return AP_REG_NOMATCH;               /* fake configurations have no <LocationMatch> */
}

int ap_setup_client_block(request_rec *r, int read_policy) { return OK; }

int ap_should_client_block(request_rec *r) { return fake.body != NULL; }

long ap_get_client_block(request_rec *r, char *buffer, apr_size_t bufsiz)
{
    apr_size_t n = fake.body_len - fake.body_pos;

    if (n > bufsiz) {
        n = bufsiz;
    }
    memcpy(buffer, fake.body + fake.body_pos, n);
    fake.body_pos += n;
    return (long)n;
}

int ap_rwrite(const void *buf, int nbyte, request_rec *r)
{
    apr_size_t n = (apr_size_t)nbyte;

    if (n > sizeof(fake.out) - 1 - fake.out_len) {
        n = sizeof(fake.out) - 1 - fake.out_len;
    }
    memcpy(fake.out + fake.out_len, buf, n);
    fake.out_len += n;
    return nbyte;
}

int ap_rputc(int c, request_rec *r)
{
    char ch = (char)c;

    ap_rwrite(&ch, 1, r);
    return c;
}

void ap_set_content_type(request_rec *r, const char *ct) { r->content_type = ct; }

/* the error filter (pm_http.c) is registered and inserted by httpd's hooks, which no
 * unit test runs: these only let the library link */
apr_status_t ap_pass_brigade(ap_filter_t *filter, apr_bucket_brigade *bucket)
{
    return APR_SUCCESS;
}

ap_filter_rec_t *ap_register_output_filter(const char *name, ap_out_filter_func filter_func,
                                           ap_init_filter_func filter_init, ap_filter_type ftype)
{
    return NULL;
}

ap_filter_t *ap_add_output_filter(const char *name, void *ctx, request_rec *r, conn_rec *c)
{
    return NULL;
}

apr_status_t ap_remove_output_filter_byhandle(ap_filter_t *next, const char *handle)
{
    return APR_SUCCESS;
}

void ap_set_content_length(request_rec *r, apr_off_t length) { r->clength = length; }

apr_port_t ap_get_server_port(const request_rec *r) { return r->server->port; }

apr_port_t ap_run_default_port(const request_rec *r) { return 80; }

const char *ap_run_http_scheme(const request_rec *r) { return "http"; }

char *ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    return apr_pstrdup(p, fname);
}

/* pm_config_dbd.c: no configuration tree here */
ap_directive_t *ap_conftree = NULL;

char *ap_getword_conf(apr_pool_t *p, const char **line)
{
    return apr_pstrdup(p, *line);
}
