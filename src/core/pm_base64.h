/* pm_base64.h — base64 encodings shared by the mail composer, the tokens and the
 * paging cursors. Pure. */
#ifndef PM_BASE64_H
#define PM_BASE64_H

#include <apr_pools.h>

/* Standard base64 with padding (MIME bodies, RFC 2047 encoded-words). */
char *pm_base64_std(apr_pool_t *p, const unsigned char *data, apr_size_t len);

/* base64url without padding (tokens, paging cursors). */
char *pm_base64url_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len);
/* Returns the decoded length, or -1 when s is not base64url in its canonical
 * spelling. */
long pm_base64url_decode(apr_pool_t *p, const char *s, unsigned char **out);

#endif
