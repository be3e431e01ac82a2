/* Unit tests for portal_status and invitation status (src/core/pm_status.c). */
#include "pm_status.h"
#include "tap.h"

static const char *status(int account, int declined, const char *inv, long long expires,
                          const char *delivery)
{
    pm_status_facts f;

    f.has_active_account = account;
    f.has_kept_account = 0;
    f.declined_by_client = declined;
    f.invitation_status = inv;
    f.invitation_expires_at = expires;
    f.delivery_status = delivery;
    f.now = 1000;
    return pm_portal_status(&f);
}

int main(void)
{
    is_str(status(0, 0, NULL, 0, NULL), "not_invited", "nothing yet");
    is_str(status(1, 1, "declined", 0, NULL), "active", "an active account wins");
    is_str(status(0, 0, "pending", 2000, "queued"), "invited", "pending, queued");
    is_str(status(0, 0, "pending", 2000, "sent"), "invited", "pending, sent");
    is_str(status(0, 1, "pending", 2000, "sent"), "invited", "invited before declined_by_client");
    is_str(status(0, 1, NULL, 0, NULL), "declined_by_client", "staff recorded decline");
    is_str(status(0, 1, "declined", 0, NULL), "declined_by_client",
           "declined_by_client before recipient decline");
    is_str(status(0, 0, "declined", 0, NULL), "declined", "recipient declined");
    is_str(status(0, 0, "pending", 1000, "sent"), "expired", "expired exactly at expires_at");
    is_str(status(0, 0, "pending", 999, "sent"), "expired", "expired after");
    is_str(status(0, 0, "pending", 2000, "failed"), "failed", "delivery failed");
    ok(pm_access_over("1000", 1000) && !pm_access_over("1001", 1000), "access over at its end");
    ok(!pm_access_over(NULL, 1000) && !pm_access_over("", 1000), "open access is never over");
    ok(pm_grant_reaches("active", NULL, 1000) && pm_grant_reaches("active", "1001", 1000),
       "an active grant within its days reaches");
    ok(!pm_grant_reaches("active", "1000", 1000), "an active grant past its last day does not");
    ok(!pm_grant_reaches("ended", NULL, 1000) && !pm_grant_reaches(NULL, NULL, 1000),
       "an ended grant does not");
    is_str(status(0, 0, "pending", 2000, "cancelled"), "email_cancelled",
           "its email cancelled by staff: not invited, not failed");
    is_str(status(0, 0, "pending", 999, "cancelled"), "expired", "expired first");
    is_str(status(0, 1, "pending", 2000, "cancelled"), "declined_by_client",
           "client declined before a cancelled email");
    is_str(status(0, 0, "revoked", 2000, "sent"), "revoked", "revoked");
    is_str(status(0, 0, "locked", 2000, "sent"), "locked", "locked");
    is_str(status(0, 0, "superseded", 2000, "sent"), "not_invited", "superseded counts as none");
    is_str(status(0, 0, "accepted", 2000, "sent"), "account_disabled",
           "accepted without an active account (disabled)");
    {
        pm_status_facts f = { 0, 1, 0, "accepted", 2000, "sent", 1000 };
        is_str(pm_portal_status(&f), "access_ended",
               "accepted, the account kept but its grant here ended (a review)");
        f.invitation_status = "pending";
        is_str(pm_portal_status(&f), "invited", "a newer invitation comes first");
    }
    is_str(pm_invitation_status("pending", 1001, 1000), "pending", "not yet due");
    is_str(pm_invitation_status("pending", 1000, 1000), "expired", "due");
    is_str(pm_invitation_status("accepted", 10, 1000), "accepted", "only pending expires");
    return done_testing();
}
