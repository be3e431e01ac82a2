/* pm_http_query.c — the query string, read one way for every API route: decoded as
 * a browser encodes it, each key once and known to the route, each value UTF-8
 * text; and the id rule the path's {id} and the query's numbers share. */
#include "pm_http.h"
#include "pm_text.h"

#include "http_protocol.h"
#include "apr_lib.h"

int pm_http_parse_id(const char *s, apr_size_t len, long long *out)
{
    long long v = 0;
    apr_size_t i;

    if (len == 0 || len > PM_ID_MAX_DIGITS || s[0] == '0') {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int hex_digit(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* s[0..len) decoded: `+` a space, %XX a byte; NULL for a broken escape or a NUL. */
static char *query_decode(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] != '%') {
            *o++ = s[i];
        }
        else if (len - i < 3 || !apr_isxdigit(s[i + 1]) || !apr_isxdigit(s[i + 2])
                 || (*o++ = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]))) == '\0') {
            return NULL;
        }
        else {
            i += 2;
        }
    }
    *o = '\0';
    return out;
}

static int is_text(const char *s)
{
    return s != NULL && pm_utf8_valid(s, strlen(s), 0);
}

static int listed(const char *const *keys, const char *key)
{
    for (; keys && *keys; keys++) {
        if (strcmp(*keys, key) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 400 for a key the route does not take, naming those it does. */
static int unknown_key(pm_req *q, const char *const *keys, const char *key)
{
    apr_pool_t *p = q->r->pool;
    const char *takes = NULL;

    for (; keys && *keys; keys++) {
        takes = takes ? apr_pstrcat(p, takes, ", ", *keys, NULL) : *keys;
    }
    return pm_http_bad_parameter(q, key, apr_psprintf(p, "Unknown parameter%s%s%s: this address "
                                                      "takes %s%s.", key ? " '" : "",
                                                      key ? key : "", key ? "'" : "",
                                                      takes ? "only " : "no parameters",
                                                      takes ? takes : ""));
}

/* One key=value of the query string (s[0..n), n > 0) into t. */
static int read_pair(pm_req *q, const char *const *keys, const char *s, apr_size_t n,
                     apr_table_t *t)
{
    apr_pool_t *p = q->r->pool;
    const char *eq = memchr(s, '=', n);
    apr_size_t klen = eq ? (apr_size_t)(eq - s) : n;
    char *key = query_decode(p, s, klen), *value;

    if (!is_text(key) || !listed(keys, key)) {
        const char *raw = apr_pstrmemdup(p, s, klen);
        return unknown_key(q, keys, is_text(key) ? key : is_text(raw) ? raw : NULL);
    }
    if (eq == NULL) {
        return pm_http_bad_parameter(q, key, apr_psprintf(p, "%s needs a value (%s=...).",
                                                          key, key));
    }
    if ((value = query_decode(p, eq + 1, n - klen - 1)) == NULL) {
        return pm_http_bad_parameter(q, key, apr_psprintf(p, "%s has a broken %%-escape or a "
                                                          "NUL character.", key));
    }
    if (!is_text(value)) {
        return pm_http_bad_parameter(q, key, apr_psprintf(p, "%s must be UTF-8 text without "
                                                          "control characters.", key));
    }
    if (apr_table_get(t, key) != NULL) {
        return pm_http_bad_parameter(q, key, apr_psprintf(p, "%s is given more than once.", key));
    }
    apr_table_setn(t, key, value);
    return PM_NEXT;
}

int pm_http_read_query(pm_req *q, const char *const *keys, apr_table_t **out)
{
    apr_table_t *t = apr_table_make(q->r->pool, 4);
    const char *s = q->r->args ? q->r->args : "";
    int rc;

    while (*s) {
        apr_size_t n = strcspn(s, "&");
        if (n > 0 && (rc = read_pair(q, keys, s, n, t)) != PM_NEXT) {
            return rc;
        }
        s += n + (s[n] == '&');
    }
    if (out) {
        *out = t;
    }
    return PM_NEXT;
}

int pm_http_query_id(pm_req *q, apr_table_t *args, const char *name, const char *message,
                     const char **out)
{
    const char *v = apr_table_get(args, name);
    long long id;

    *out = v;
    if (v != NULL && !pm_http_parse_id(v, strlen(v), &id)) {
        return pm_http_bad_parameter(q, name, message);
    }
    return PM_NEXT;
}
