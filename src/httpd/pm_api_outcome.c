/* pm_api_outcome.c — the outcomes' names, and turning an operation's outcome
 * (pm_op.h) into the error answer a handler file's table gives it: one place for
 * the lookup, the 503 of every database failure, the 500 of a forgotten one. */
#include "pm_op.h"

#include "http_protocol.h"

APLOG_USE_MODULE(portal_manager);

static const char *const outcome_names[PM_OP_OUTCOMES] = {
    "ok", "db_unavailable", "no_client", "no_invitation", "no_representative",
    "already_active", "no_email", "declined", "pending", "not_pending", "changed_meanwhile",
    "locked", "address_changed", "email_bounced", "send_limit", "too_soon",
    "representatives_disabled", "duplicate",
    "account_active", "invalid_token", "expired", "superseded", "revoked", "answered",
    "answered_declined",
    "verify_failed", "username_taken", "no_body", "unknown_setting", "invalid_setting",
    "discharged", "no_account", "already_disabled", "already_enabled", "representative_removed",
    "account_disabled", "wrong_kind", "scope_off", "bad_dates", "home_discharged",
    "not_staff", "access_ended", "needs_a_look",
    "addresses_differ", "unseen_clients", "has_account", "not_linkable"
};

const char *pm_op_outcome_name(pm_op_outcome o)
{
    return (int)o >= 0 && o < PM_OP_OUTCOMES && outcome_names[o] ? outcome_names[o] : "unknown";
}

const pm_api_answer *pm_api_answer_find(const pm_api_answer *table, const char *when,
                                        pm_op_outcome o)
{
    const pm_api_answer *a, *any = NULL;

    for (a = table; a->code != NULL; a++) {
        if (a->outcome != o) {
            continue;
        }
        if (a->when == NULL) {
            any = any ? any : a;
        }
        else if (when != NULL && strcmp(a->when, when) == 0) {
            return a;
        }
    }
    return any;
}

int pm_api_send_outcome(pm_req *q, const pm_api_answer *table, const char *when,
                        pm_op_outcome o)
{
    const pm_api_answer *a;

    if (o == PM_OP_DB_UNAVAILABLE) {
        return pm_http_db_unavailable(q);
    }
    if ((a = pm_api_answer_find(table, when, o)) == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, PM_LOGNO(00183)
                      "no answer for outcome %s of %s", pm_op_outcome_name(o),
                      when ? when : "an operation");
        return pm_http_send_error(q, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                                  "Something went wrong. Please try again.", NULL);
    }
    return pm_http_send_error(q, a->status, a->code, a->message, a->field);
}
