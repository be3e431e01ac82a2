/* pm_bounce.h — bounces: the VERP envelope sender that names an outbox row with a MAC
 * (local+ID-MAC@domain), and reading a returned message (an RFC 3464 delivery status
 * notification or a plain bounce) as hard, soft, an auto-reply or not a bounce. Pure. */
#ifndef PM_BOUNCE_H
#define PM_BOUNCE_H

#include <apr_pools.h>

#define PM_BOUNCE_MAC_HEX 16      /* 8 bytes of HMAC-SHA256, lower-case hex */
#define PM_BOUNCE_REASON_MAX 300  /* characters of the diagnostic kept */

/* The envelope sender of outbox row id: bounce_addr's local part, "+", the id, "-",
 * the MAC of the id under secret, "@" and the domain. NULL if bounce_addr has no
 * '@' or there is no secret. */
const char *pm_bounce_sender(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                             const char *bounce_addr, long long outbox_id);

typedef enum {
    PM_VERP_OK = 0,
    PM_VERP_NOT_OURS,             /* not bounce_addr's local part + "+" ID-MAC at its domain */
    PM_VERP_BAD_MAC               /* shaped like ours, the MAC does not match: forged */
} pm_verp_result;

/* Which outbox row a bounce's recipient (the VERP address, any case, optional
 * <angle brackets>) names. bounce_addr NULL: any local part and domain, the
 * extension after the last "+" (the admin tool need not repeat the address). */
pm_verp_result pm_bounce_verp_id(const unsigned char *secret, apr_size_t secret_len,
                                 const char *bounce_addr, const char *recipient,
                                 long long *outbox_id);

typedef enum {
    PM_BOUNCE_NONE = 0,           /* neither a bounce nor an auto-reply */
    PM_BOUNCE_HARD,               /* permanent (5.x.x; not 5.2.2): the address does not work */
    PM_BOUNCE_SOFT,               /* delayed, 4.x.x, a full mailbox, or a bounce without a code */
    PM_BOUNCE_AUTOREPLY           /* out of office and other automatic answers */
} pm_bounce_kind;

typedef struct {
    pm_bounce_kind kind;
    const char *status;           /* "5.1.1", "550", or NULL */
    const char *reason;           /* the diagnostic, one line, at most
                                   * PM_BOUNCE_REASON_MAX characters; NULL if none */
} pm_bounce_report;

/* Reads one message as it arrives (headers, blank line, body). */
void pm_bounce_read(apr_pool_t *p, const char *msg, apr_size_t len, pm_bounce_report *out);

/* The unfolded value of the first header called name (case-insensitive) in the
 * message's top headers, or NULL. */
const char *pm_bounce_header(apr_pool_t *p, const char *msg, apr_size_t len, const char *name);

/* "hard", "soft" for a report's kind; NULL for the others. */
const char *pm_bounce_kind_name(pm_bounce_kind kind);

#endif
