/* pm_token.c — making and hashing invitation tokens. Randomness from APR
 * (apr_generate_random_bytes), SHA-256 from OpenSSL's EVP interface, and the
 * delivery worker's derived tokens (HMAC-SHA256 of a server secret). */
#include "pm_token.h"
#include "pm_base64.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static char *hex_of(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    char *hex = apr_palloc(p, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        apr_snprintf(hex + i * 2, 3, "%02x", b[i]);
    }
    hex[n * 2] = '\0';
    return hex;
}

const char *pm_random_hex(apr_pool_t *p, apr_size_t n)
{
    unsigned char *raw = apr_palloc(p, n);

    return apr_generate_random_bytes(raw, n) == APR_SUCCESS ? hex_of(p, raw, n) : NULL;
}

const char *pm_token_hash(apr_pool_t *p, const char *raw)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    EVP_Digest(raw, strlen(raw), md, &len, EVP_sha256(), NULL);
    return hex_of(p, md, len);
}

apr_status_t pm_token_new(apr_pool_t *p, const char **raw, const char **hash)
{
    unsigned char bytes[PM_TOKEN_BYTES];
    apr_status_t rv = apr_generate_random_bytes(bytes, sizeof(bytes));

    if (rv != APR_SUCCESS) {
        return rv;
    }
    *raw = pm_base64url_encode(p, bytes, sizeof(bytes));
    *hash = pm_token_hash(p, *raw);
    memset(bytes, 0, sizeof(bytes));
    return APR_SUCCESS;
}

apr_status_t pm_token_derive(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                             long long invitation_id, long long send_id, const char *nonce,
                             const char **raw, const char **hash)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const char *msg = nonce
        ? apr_psprintf(p, "pm-invitation-token-v2:%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT ":%s",
                       (apr_int64_t)invitation_id, (apr_int64_t)send_id, nonce)
        : apr_psprintf(p, "pm-invitation-token-v1:%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT,
                       (apr_int64_t)invitation_id, (apr_int64_t)send_id);

    if (secret == NULL || secret_len == 0
        || HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, strlen(msg),
                md, &len) == NULL || len != PM_TOKEN_BYTES) {
        return APR_EGENERAL;
    }
    *raw = pm_base64url_encode(p, md, len);
    *hash = pm_token_hash(p, *raw);
    memset(md, 0, sizeof(md));
    return APR_SUCCESS;
}

int pm_token_well_formed(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    return n == 43 && s[n] == '\0';
}
