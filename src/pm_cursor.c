/* pm_cursor.c — paging cursors: fields joined by 0x1F, then
 * base64url(payload) "." base64url(first 16 bytes of HMAC-SHA256(key, payload)).
 * OpenSSL's HMAC does the cryptography; APR's base64 the encoding. */
#include "pm_cursor.h"

#include <apr_base64.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define TAG_LEN 16

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

static void cursor_tag(const unsigned char *key, const char *payload, apr_size_t len,
                       unsigned char *tag)
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int full_len = 0;

    HMAC(EVP_sha256(), key, PM_CURSOR_KEY_LEN, (const unsigned char *)payload, len,
         full, &full_len);
    memcpy(tag, full, TAG_LEN);
}

const char *pm_cursor_encode(apr_pool_t *p, const unsigned char *key,
                             const char *const *fields, int n)
{
    char *payload = apr_pstrdup(p, "");
    unsigned char tag[TAG_LEN];
    int i;

    for (i = 0; i < n; i++) {
        payload = apr_pstrcat(p, payload, i ? "\x1f" : "", fields[i], NULL);
    }
    cursor_tag(key, payload, strlen(payload), tag);
    return apr_pstrcat(p, pm_base64url_encode(p, (const unsigned char *)payload, strlen(payload)),
                       ".", pm_base64url_encode(p, tag, TAG_LEN), NULL);
}

int pm_cursor_decode(apr_pool_t *p, const unsigned char *key, const char *cursor,
                     const char **fields, int n)
{
    const char *dot = strchr(cursor, '.');
    unsigned char *payload, *tag, want[TAG_LEN];
    long plen, tlen;
    char *field;
    int i = 0;

    if (dot == NULL || strlen(cursor) > 2048) {
        return -1;
    }
    plen = pm_base64url_decode(p, apr_pstrmemdup(p, cursor, (apr_size_t)(dot - cursor)), &payload);
    tlen = pm_base64url_decode(p, dot + 1, &tag);
    if (plen < 0 || tlen != TAG_LEN || memchr(payload, '\0', (size_t)plen) != NULL) {
        return -1;
    }
    cursor_tag(key, (const char *)payload, (apr_size_t)plen, want);
    if (CRYPTO_memcmp(want, tag, TAG_LEN) != 0) {
        return -1;
    }
    /* split on 0x1F keeping empty fields */
    field = (char *)payload;
    for (;;) {
        char *sep = strchr(field, '\x1f');
        if (i >= n) {
            return -1;
        }
        fields[i++] = sep ? apr_pstrmemdup(p, field, (apr_size_t)(sep - field)) : field;
        if (sep == NULL) {
            break;
        }
        field = sep + 1;
    }
    return i == n ? 0 : -1;
}
