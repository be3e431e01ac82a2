/* pm_config_parse.c — parsing and validation of directive values. Pure C on APR
 * so the rules are unit-tested without httpd; pm_config.c turns the messages into
 * configtest errors naming the directive. */
#include "pm_config_parse.h"
#include "pm_text.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* 1 to 65535 in digits: apr_uri_parse keeps only the low 16 bits of a larger port */
static int valid_port(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n > 0 && n <= 5 && s[n] == '\0' && atol(s) >= 1 && atol(s) <= 65535;
}

/* The hint of a value that is not a whole URL names the scheme its directive expects:
 * a mail server written as host:port must not be told to write https://. */
typedef struct {
    const char *what, *scheme, *sample;
} url_kind;

static const url_kind web_url = { "web address", "https://", "https://portal.example.org/" };
static const url_kind mail_url = { "mail server address", "smtp:// or smtps://",
                                   "smtps://mail.example.org:465" };

static const char *parse_absolute_uri(apr_pool_t *p, const char *value, apr_uri_t *uri,
                                      const url_kind *kind)
{
    if (value == NULL || *value == '\0') {
        return "is empty";
    }
    if (has_line_break(value) || strpbrk(value, " \t") != NULL) {
        return "must not contain whitespace or line breaks";
    }
    if (apr_uri_parse(p, value, uri) != APR_SUCCESS || uri->scheme == NULL) {
        return apr_psprintf(p, "'%s' is not a whole %s: write it with its %s, such as %s",
                            value, kind->what, kind->scheme, kind->sample);
    }
    if (uri->hostname == NULL || *uri->hostname == '\0') {
        return apr_psprintf(p, "'%s' names no server: write it as %s (the server's name "
                            "after %s)", value, kind->sample, kind->scheme);
    }
    if (uri->user != NULL || uri->password != NULL) {
        return "must not contain a user name or password";
    }
    if (uri->port_str != NULL && !valid_port(uri->port_str)) {
        return apr_psprintf(p, "'%s' has an invalid port (1 to 65535)", value);
    }
    return NULL;
}

const char *pm_parse_web_url(apr_pool_t *p, const char *value, int *is_https)
{
    apr_uri_t uri;
    const char *err = parse_absolute_uri(p, value, &uri, &web_url);

    if (err) {
        return err;
    }
    if (strcasecmp(uri.scheme, "https") == 0) {
        *is_https = 1;
    }
    else if (strcasecmp(uri.scheme, "http") == 0) {
        *is_https = 0;
    }
    else {
        return apr_psprintf(p, "'%s' must be an http:// or https:// URL", value);
    }
    if (uri.fragment != NULL) {
        return "must not contain a '#' fragment (the token is added there)";
    }
    return NULL;
}

const char *pm_parse_mail_url(apr_pool_t *p, const char *value)
{
    apr_uri_t uri;
    const char *err = parse_absolute_uri(p, value, &uri, &mail_url);

    if (err) {
        return err;
    }
    if (strcasecmp(uri.scheme, "smtp") != 0 && strcasecmp(uri.scheme, "smtps") != 0) {
        return apr_psprintf(p, "'%s' must be an smtp:// or smtps:// URL", value);
    }
    if ((uri.path != NULL && *uri.path != '\0' && strcmp(uri.path, "/") != 0)
        || uri.query != NULL || uri.fragment != NULL) {
        return apr_psprintf(p, "'%s' must name only a host and port", value);
    }
    return NULL;
}

static int is_bracketed(const char *v, size_t len)
{
    return len >= 3 && v[0] == '[' && v[len - 1] == ']';
}

/* [192.0.2.1] or [2001:db8::1] (RFC 5321 also writes [IPv6:2001:db8::1]): a real address */
static int helo_literal(const char *v, size_t len)
{
    char addr[64];
    unsigned char buf[16];
    const char *in = v + 1;
    size_t n = len - 2;
    int v6 = n >= 5 && strncasecmp(in, "IPv6:", 5) == 0;

    if (v6) {
        in += 5;
        n -= 5;
    }
    if (n == 0 || n >= sizeof(addr)) {
        return 0;
    }
    memcpy(addr, in, n);
    addr[n] = '\0';
    return inet_pton(v6 || strchr(addr, ':') ? AF_INET6 : AF_INET, addr, buf) == 1;
}

const char *pm_parse_helo_name(const char *value)
{
    size_t len = value ? strlen(value) : 0, label = 0, i;

    if (len == 0 || len > 253) {
        return "must be a host name of 1 to 253 characters";
    }
    if (is_bracketed(value, len)) {
        return helo_literal(value, len) ? NULL
               : "must be a host name or an address literal of a real address, such as "
                 "[192.0.2.1] or [IPv6:2001:db8::1]";
    }
    for (i = 0; i < len; i++) {
        char c = value[i];
        if (c == '.') {
            if (label == 0 || value[i - 1] == '-') {
                return "must be a host name (empty label or one ending in '-')";
            }
            label = 0;
        }
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || (c == '-' && label > 0)) {
            if (++label > 63) {
                return "must be a host name (a label is longer than 63 characters)";
            }
        }
        else {
            return "must be a host name (letters, digits, '-' and '.') or an address "
                   "literal such as [192.0.2.1]";
        }
    }
    return label > 0 && value[len - 1] != '-' ? NULL : "must be a host name (it ends in '.' or '-')";
}

static int has_suffix_label(const char *host, apr_size_t len, const char *name)
{
    apr_size_t n = strlen(name);

    if (len < n || strncasecmp(host + len - n, name, n) != 0) {
        return 0;
    }
    return len == n || host[len - n - 1] == '.';
}

/* the host of an absolute URL, or the domain of an address */
static const char *value_host(apr_pool_t *p, const char *value)
{
    apr_uri_t uri;
    const char *host;

    if (value == NULL) {
        return NULL;
    }
    if (strstr(value, "://") != NULL) {
        if (apr_uri_parse(p, value, &uri) != APR_SUCCESS || uri.hostname == NULL) {
            return NULL;
        }
        host = uri.hostname;
    }
    else {
        host = strrchr(value, '@');
        if (host == NULL) {
            return NULL;
        }
        host = apr_pstrndup(p, host + 1, strcspn(host + 1, ">"));
    }
    return host;
}

/* The first three are the documentation domains (the sample's placeholders); the
 * top-level ones may name a development machine. */
static const char *const reserved_names[] = {
    "example.com", "example.net", "example.org", "example", "invalid", "test", NULL
};
#define DOCUMENTATION_NAMES 3

static int is_example_name(const char *host, int documentation_only)
{
    apr_size_t len = strlen(host);
    int i;

    if (len > 0 && host[len - 1] == '.') {
        len--;
    }
    for (i = 0; reserved_names[i] && (!documentation_only || i < DOCUMENTATION_NAMES); i++) {
        if (has_suffix_label(host, len, reserved_names[i])) {
            return 1;
        }
    }
    return 0;
}

const char *pm_example_host(apr_pool_t *p, const char *value)
{
    const char *host = value_host(p, value);

    return host && is_example_name(host, 0) ? host : NULL;
}

const char *pm_placeholder_host(apr_pool_t *p, const char *value)
{
    const char *host = value_host(p, value);

    return host && is_example_name(host, 1) ? host : NULL;
}

const char *pm_parse_tls_mode(const char *value, pm_tls_mode *mode)
{
    if (value == NULL) {
        return "is empty";
    }
    if (strcasecmp(value, "none") == 0) {
        *mode = PM_TLS_NONE;
    }
    else if (strcasecmp(value, "try") == 0) {
        *mode = PM_TLS_TRY;
    }
    else if (strcasecmp(value, "required") == 0) {
        *mode = PM_TLS_REQUIRED;
    }
    else {
        return "must be one of none, try, required";
    }
    return NULL;
}

const char *pm_parse_int_range(const char *value, long long min, long long max,
                               long long *out)
{
    char *end = NULL;
    long long v;

    if (value == NULL || *value == '\0') {
        return "is empty";
    }
    if (strchr(" \t\n\v\f\r+", value[0]) != NULL) {
        return "must be a whole number";  /* strtoll would skip the blanks */
    }
    errno = 0;
    v = strtoll(value, &end, 10);
    if (end == value || *end != '\0') {
        return "must be a whole number";
    }
    if (errno == ERANGE) {
        return v < 0 ? (min < 0 ? "is too small" : "must not be negative") : "is too large";
    }
    if (errno != 0) {
        return "must be a whole number";
    }
    if (v < min) {
        return v < 0 ? "must not be negative" : "is too small";
    }
    if (v > max) {
        return "is too large";
    }
    *out = v;
    return NULL;
}

/* Strip surrounding blanks and one level of double quotes from a display name. */
static const char *clean_display_name(apr_pool_t *p, const char *start, const char *end)
{
    while (start < end && (*start == ' ' || *start == '\t')) {
        start++;
    }
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (end - start >= 2 && *start == '"' && end[-1] == '"') {
        start++;
        end--;
    }
    return apr_pstrmemdup(p, start, end - start);
}

const char *pm_parse_mailbox(apr_pool_t *p, const char *value,
                             const char **name, const char **addr)
{
    const char *lt, *gt, *problem;
    const char *display;

    if (value == NULL || *value == '\0') {
        return "is empty";
    }
    if (has_line_break(value)) {
        return "must not contain line breaks";
    }
    lt = strchr(value, '<');
    gt = strrchr(value, '>');
    if (lt == NULL && gt == NULL) {
        display = "";
        *addr = apr_pstrdup(p, value);
    }
    else {
        if (lt == NULL || gt == NULL || gt < lt || gt[1] != '\0' || strchr(lt + 1, '<')) {
            return "must be 'Name <address@example.org>' or 'address@example.org'";
        }
        display = clean_display_name(p, value, lt);
        *addr = apr_pstrmemdup(p, lt + 1, gt - lt - 1);
        if (strchr(display, '"') != NULL) {
            return "the display name must not contain '\"'";
        }
        if (!pm_utf8_valid(display, strlen(display), 0)) {
            return "the display name must be valid UTF-8 without control characters";
        }
    }
    problem = pm_email_problem(*addr);
    if (problem != NULL) {
        return apr_psprintf(p, "address '%s' %s", *addr, problem);
    }
    *name = display;
    return NULL;
}
