/* pm_cursor.h — opaque, tamper-evident paging cursors: the keyset position (a
 * few text fields, client names among them) encrypted and authenticated, so
 * nothing readable lands in access logs. Pure. */
#ifndef PM_CURSOR_H
#define PM_CURSOR_H

#include <apr_pools.h>

#define PM_CURSOR_KEY_LEN 32

/* Encode n fields (no field may contain the 0x1F separator). */
const char *pm_cursor_encode(apr_pool_t *p, const unsigned char *key,
                             const char *const *fields, int n);

/* Decode into fields[0..n); returns 0 on success, -1 when malformed, forged, or
 * not exactly n fields. */
int pm_cursor_decode(apr_pool_t *p, const unsigned char *key, const char *cursor,
                     const char **fields, int n);

#endif
