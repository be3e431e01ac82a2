/* pm_config_parse.h — pure parsers for directive values (URLs, numbers, TLS mode,
 * From mailbox). No httpd symbols: the directive handlers in pm_config.c and the
 * unit tests both call these. Each returns NULL on success or an error message. */
#ifndef PM_CONFIG_PARSE_H
#define PM_CONFIG_PARSE_H

#include <apr_pools.h>

typedef enum {
    PM_TLS_NONE = 0,
    PM_TLS_TRY = 1,
    PM_TLS_REQUIRED = 2
} pm_tls_mode;

/* An absolute http:// or https:// URL with a host; *is_https tells which. */
const char *pm_parse_web_url(apr_pool_t *p, const char *value, int *is_https);

/* smtp://host[:port] or smtps://host[:port], nothing after the authority. */
const char *pm_parse_mail_url(apr_pool_t *p, const char *value);

/* An EHLO name: a host name (letters, digits, '-', '.'; labels of 1 to 63) or an
 * address literal "[192.0.2.1]". */
const char *pm_parse_helo_name(const char *value);

/* "none" | "try" | "required" (case-insensitive). */
const char *pm_parse_tls_mode(const char *value, pm_tls_mode *mode);

/* A decimal integer in [min, max]; no sign other than '-', no leading or trailing
 * text, blanks (space, tab, LF, VT, FF, CR) included. */
const char *pm_parse_int_range(const char *value, long long min, long long max,
                               long long *out);

/* "Display Name <local@domain>" or "local@domain". The display name may be quoted;
 * CR, LF and NUL are refused anywhere. *name is "" when absent. */
const char *pm_parse_mailbox(apr_pool_t *p, const char *value,
                             const char **name, const char **addr);

/* The host of an absolute URL, or the domain of an address (after its last '@'), when
 * it is a name reserved for examples (RFC 2606, RFC 6761): example.com, example.net,
 * example.org and their subdomains, and the .example, .invalid and .test top-level
 * domains (any case, a trailing dot ignored). NULL for any other value. The sample
 * configuration's EDIT values use such names, so configtest can tell they are unedited. */
const char *pm_example_host(apr_pool_t *p, const char *value);

/* The same for the documentation domains only (example.com, example.net, example.org):
 * the sample's placeholders, never a real mail server or sender even in development. */
const char *pm_placeholder_host(apr_pool_t *p, const char *value);

#endif
