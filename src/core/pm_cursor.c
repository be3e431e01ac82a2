/* pm_cursor.c — paging cursors: fields joined by 0x1F, sealed with AES-256-GCM
 * under a key made at startup, base64url(nonce | ciphertext | tag). OpenSSL's
 * EVP does the cryptography; pm_base64.c the encoding. */
#include "pm_cursor.h"
#include "pm_base64.h"

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define TAG_LEN 16
#define NONCE_LEN 12

/* AES-256-GCM: the cursor reveals nothing (its keys are client names, and
 * cursors travel in URLs and so in access logs) and any change is detected. */
static int cursor_crypt(int encrypt, const unsigned char *key, const unsigned char *nonce,
                        const unsigned char *in, int len, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok;

    ok = ctx != NULL
         && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1
         && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, encrypt) == 1
         && (encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1)
         && EVP_CipherUpdate(ctx, out, &n, in, len) == 1
         && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1
         && (!encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? n + fin : -1;
}

const char *pm_cursor_encode(apr_pool_t *p, const unsigned char *key,
                             const char *const *fields, int n)
{
    char *payload = apr_pstrdup(p, "");
    unsigned char *buf;
    int i, len;

    for (i = 0; i < n; i++) {
        payload = apr_pstrcat(p, payload, i ? "\x1f" : "", fields[i], NULL);
    }
    len = (int)strlen(payload);
    buf = apr_palloc(p, NONCE_LEN + (apr_size_t)len + TAG_LEN);
    if (apr_generate_random_bytes(buf, NONCE_LEN) != APR_SUCCESS
        || cursor_crypt(1, key, buf, (const unsigned char *)payload, len, buf + NONCE_LEN,
                        buf + NONCE_LEN + len) != len) {
        return "";                  /* decodes as invalid: the client starts over */
    }
    return pm_base64url_encode(p, buf, NONCE_LEN + (apr_size_t)len + TAG_LEN);
}

int pm_cursor_decode(apr_pool_t *p, const unsigned char *key, const char *cursor,
                     const char **fields, int n)
{
    unsigned char *raw;
    char *plain, *field;
    long len;
    int plen, i = 0;

    if (strlen(cursor) > 2048 || (len = pm_base64url_decode(p, cursor, &raw)) < NONCE_LEN + TAG_LEN) {
        return -1;
    }
    plen = (int)len - NONCE_LEN - TAG_LEN;
    plain = apr_palloc(p, (apr_size_t)plen + 1);
    if (cursor_crypt(0, key, raw, raw + NONCE_LEN, plen, (unsigned char *)plain,
                     raw + NONCE_LEN + plen) != plen || memchr(plain, '\0', (size_t)plen)) {
        return -1;
    }
    plain[plen] = '\0';
    for (field = plain;;) {                  /* split on 0x1F keeping empty fields */
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
