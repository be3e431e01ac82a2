/* pm_status.h — the portal_status of a client or representative (docs/product.md),
 * derived from facts the store reads: accounts, staff-recorded decline, and the
 * latest invitation with its delivery state. Pure, unit-tested. */
#ifndef PM_STATUS_H
#define PM_STATUS_H

typedef struct {
    int has_active_account;
    int has_kept_account;            /* an active account whose access here has ended */
    int declined_by_client;          /* staff recorded "client declined" */
    const char *invitation_status;   /* latest invitation's status, NULL if none */
    long long invitation_expires_at;
    const char *delivery_status;     /* its latest outbox row: queued, sent, failed, bounced,
                                      * cancelled (by staff, in the Outbox: never sent) */
    long long now;
} pm_status_facts;

/* One of: active, invited, declined_by_client, declined, expired, failed, locked,
 * email_cancelled (pending, its email cancelled by staff before it went), revoked,
 * address_changed, access_ended (the latest invitation was accepted, its
 * account is still active but reaches this client no more: a review or a removal
 * ended the grant), account_disabled (accepted, but the account is not active),
 * not_invited — the first that applies. A pending
 * invitation whose delivery failed is "failed", not "invited": staff must see
 * that it never arrived. A latest invitation superseded by an email change
 * (stored "superseded", read as "address_changed") says so; one superseded any
 * other way counts as none. */
const char *pm_portal_status(const pm_status_facts *f);

/* 1 when a representative's access, last day given as access_ends_at (epoch seconds as
 * text, the first second after it; NULL or empty: open), is over at now. */
int pm_access_over(const char *ends_at, long long now);

/* 1 when an account grant (status, ends_at as above) still reaches its client at now:
 * active and its last day not past. */
int pm_grant_reaches(const char *status, const char *ends_at, long long now);

/* The invitation's own status for the API: pending becomes expired when due. */
const char *pm_invitation_status(const char *stored, long long expires_at, long long now);

#endif
