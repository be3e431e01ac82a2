/* pm_token.c — making and hashing invitation tokens. Randomness from APR
 * (apr_generate_random_bytes), SHA-256 from OpenSSL's EVP interface. */
#include "pm_token.h"
#include "pm_cursor.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <string.h>

const char *pm_token_hash(apr_pool_t *p, const char *raw)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *hex;

    EVP_Digest(raw, strlen(raw), md, &len, EVP_sha256(), NULL);
    hex = apr_palloc(p, len * 2 + 1);
    for (i = 0; i < len; i++) {
        apr_snprintf(hex + i * 2, 3, "%02x", md[i]);
    }
    hex[len * 2] = '\0';
    return hex;
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

int pm_token_well_formed(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    return n == 43 && s[n] == '\0';
}
