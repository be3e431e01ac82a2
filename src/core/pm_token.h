/* pm_token.h — invitation tokens: 32 random bytes, base64url for the link, and
 * the SHA-256 (hex) that is all the database ever stores. Pure. */
#ifndef PM_TOKEN_H
#define PM_TOKEN_H

#include <apr_pools.h>

#define PM_TOKEN_BYTES 32

/* New token (*raw, base64url, 43 characters) and its hash (*hash, 64 hex). */
apr_status_t pm_token_new(apr_pool_t *p, const char **raw, const char **hash);

/* The token of one send (outbox row send_id) of an invitation: base64url of
 * HMAC-SHA256(secret, invitation and send id, and the send's nonce: random, stored
 * with the row when it was queued), so a send that must be repeated (its outcome
 * was never recorded) carries the same link as the first copy, and a database
 * restored from a backup, which hands the same ids out again, never makes an
 * earlier email's link again. nonce NULL: a row queued before the nonce existed
 * (migration 032), whose link is made as it was then. Same shape as
 * pm_token_new's; APR_EGENERAL without a secret. */
apr_status_t pm_token_derive(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                             long long invitation_id, long long send_id, const char *nonce,
                             const char **raw, const char **hash);

/* SHA-256 of the token text as lower-case hex. */
const char *pm_token_hash(apr_pool_t *p, const char *raw);

/* n random bytes as lower-case hex (ids, boundaries); NULL if no randomness. */
const char *pm_random_hex(apr_pool_t *p, apr_size_t n);

/* 1 when s looks like a token (43 base64url characters): cheap pre-check. */
int pm_token_well_formed(const char *s);

#endif
