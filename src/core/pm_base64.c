/* pm_base64.c — base64 as the module writes it: standard with padding (MIME
 * bodies, RFC 2047 encoded-words) and base64url without padding (tokens, paging
 * cursors), decoded only in its one canonical spelling. APR does the coding. */
#include "pm_base64.h"

#include <apr_base64.h>
#include <string.h>

char *pm_base64_std(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));

    apr_base64_encode_binary(out, data, (int)len);
    return out;
}

char *pm_base64url_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));
    char *c;
    int n = apr_base64_encode_binary(out, data, (int)len);

    out[n > 0 ? n - 1 : 0] = '\0';           /* n counts the terminating NUL */
    for (c = out; *c; c++) {
        if (*c == '+') {
            *c = '-';
        }
        else if (*c == '/') {
            *c = '_';
        }
        else if (*c == '=') {
            *c = '\0';
            break;
        }
    }
    return out;
}

long pm_base64url_decode(apr_pool_t *p, const char *s, unsigned char **out)
{
    apr_size_t len = strlen(s), i, padded = (len + 3) / 4 * 4;
    char *std;
    int n;

    if (len % 4 == 1) {
        return -1;
    }
    std = apr_palloc(p, padded + 1);
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '-') {
            c = '+';
        }
        else if (c == '_') {
            c = '/';
        }
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return -1;
        }
        std[i] = c;
    }
    for (; i < padded; i++) {
        std[i] = '=';
    }
    std[padded] = '\0';
    *out = apr_palloc(p, (apr_size_t)apr_base64_decode_len(std) + 1);
    n = apr_base64_decode_binary(*out, std);
    if (n < 0) {
        return -1;
    }
    (*out)[n] = '\0';
    /* only the canonical spelling is accepted (no stray bits in the last char) */
    if (strcmp(pm_base64url_encode(p, *out, (apr_size_t)n), s) != 0) {
        return -1;
    }
    return n;
}
