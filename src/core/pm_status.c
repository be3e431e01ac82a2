/* pm_status.c — portal_status and invitation status derivation (docs/product.md): the
 * one place that decides what staff see as a client's state. */
#include "pm_status.h"

#include <stdlib.h>
#include <string.h>

static int is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

int pm_access_over(const char *ends_at, long long now)
{
    return ends_at && *ends_at && strtoll(ends_at, NULL, 10) <= now;
}

int pm_grant_reaches(const char *status, const char *ends_at, long long now)
{
    return is(status, "active") && !pm_access_over(ends_at, now);
}

const char *pm_invitation_status(const char *stored, long long expires_at, long long now)
{
    if (is(stored, "pending") && expires_at <= now) {
        return "expired";
    }
    return stored;
}

const char *pm_portal_status(const pm_status_facts *f)
{
    const char *inv = pm_invitation_status(f->invitation_status, f->invitation_expires_at,
                                           f->now);
    int failed = is(f->delivery_status, "failed") || is(f->delivery_status, "bounced");
    int cancelled = is(f->delivery_status, "cancelled");

    if (f->has_active_account) {
        return "active";
    }
    if (is(inv, "pending") && !failed && !cancelled) {
        return "invited";
    }
    if (f->declined_by_client) {
        return "declined_by_client";
    }
    if (is(inv, "accepted")) {
        /* the account the acceptance made: kept, its grant here ended; or turned off */
        return f->has_kept_account ? "access_ended" : "account_disabled";
    }
    if (is(inv, "declined")) {
        return "declined";
    }
    if (is(inv, "expired")) {
        return "expired";
    }
    if (is(inv, "pending") && failed) {
        return "failed";
    }
    if (is(inv, "pending") && cancelled) {
        return "email_cancelled";
    }
    if (is(inv, "locked")) {
        return "locked";
    }
    if (is(inv, "revoked")) {
        return "revoked";
    }
    if (is(inv, "address_changed")) {
        return "address_changed";
    }
    return "not_invited";
}
