/* Unit tests for invitation tokens (src/core/pm_token.c): the delivery worker's
 * derived tokens are the same for one send, differ between sends, invitations and
 * secrets, have the shape of a random token, and need a secret. */
#include "pm_token.h"
#include "tap.h"

#include <apr_general.h>
#include <string.h>

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef";
static const unsigned char OTHER[] = "fedcba9876543210fedcba9876543210";

static const char *derive_nonce(apr_pool_t *p, const unsigned char *secret, long long inv,
                                long long send, const char *nonce, const char **hash)
{
    const char *raw = NULL;

    if (pm_token_derive(p, secret, secret ? 32 : 0, inv, send, nonce, &raw, hash)
        != APR_SUCCESS) {
        return NULL;
    }
    return raw;
}

static const char *derive(apr_pool_t *p, const unsigned char *secret, long long inv,
                          long long send, const char **hash)
{
    return derive_nonce(p, secret, inv, send, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", hash);
}

/* The nonce: a restored database gives the same ids to another send, whose nonce
 * differs; a row queued before the nonce (NULL) keeps the link it was made with. */
static void test_nonce(apr_pool_t *p)
{
    const char *h1, *h2, *h3, *h4;
    const char *t1 = derive_nonce(p, SECRET, 7, 41, "aa", &h1);
    const char *t2 = derive_nonce(p, SECRET, 7, 41, "ab", &h2);
    const char *t3 = derive_nonce(p, SECRET, 7, 41, NULL, &h3);
    const char *t4 = derive_nonce(p, SECRET, 7, 41, "aa", &h4);

    ok(t1 && t2 && t3 && t4, "derived with and without a nonce");
    if (!(t1 && t2 && t3 && t4)) {
        return;
    }
    ok(strcmp(t1, t2) != 0, "the same ids with another nonce give another token");
    ok(strcmp(t1, t3) != 0 && strcmp(t2, t3) != 0, "a nonce changes the token of the same ids");
    is_str(t1, t4, "the same ids and nonce give the same token (a repeated send)");
    is_str(t3, "QQghA_8QKBejzc3jUtvqMKSJtZgk6df9PS0HTlxEMtM",
           "without a nonce: HMAC-SHA256 of pm-invitation-token-v1:7:41, the link of a row queued before migration 032");
    ok(pm_token_well_formed(t1), "a token with a nonce looks like a random one");
}

static void test_derive(apr_pool_t *p)
{
    const char *h1, *h2, *h3, *h4, *h5;
    const char *t1 = derive(p, SECRET, 7, 41, &h1);
    const char *t2 = derive(p, SECRET, 7, 41, &h2);
    const char *t3 = derive(p, SECRET, 7, 42, &h3);
    const char *t4 = derive(p, SECRET, 8, 41, &h4);
    const char *t5 = derive(p, OTHER, 7, 41, &h5);

    ok(t1 && t2 && t3 && t4 && t5, "derived with a secret");
    if (!(t1 && t2 && t3 && t4 && t5)) {
        return;
    }
    ok(pm_token_well_formed(t1), "a derived token looks like a random one (43 base64url)");
    is_str(t1, t2, "the same send gives the same token");
    is_str(h1, pm_token_hash(p, t1), "its hash is the SHA-256 of the token text");
    ok(strcmp(t1, t3) != 0, "another send of the invitation gives another token");
    ok(strcmp(t1, t4) != 0, "another invitation gives another token");
    ok(strcmp(t1, t5) != 0, "another secret gives another token");
    /* "7:41" vs "74:1": the ids are separated, not concatenated */
    ok(strcmp(t1, derive(p, SECRET, 74, 1, &h2)) != 0, "ids are delimited");
    ok(derive(p, NULL, 7, 41, &h2) == NULL, "no secret, no token");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_derive(p);
    test_nonce(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
