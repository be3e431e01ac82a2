/* admin_audit.c — `audit verify`: walks the audit trail's hash chain
 * (pm_audit_chain.c) and says either how many rows it checked and the head's
 * hash (for the admin to keep elsewhere), or the first row that does not fit. */
#include "admin.h"
#include "pm_audit_chain.h"

#include <stdio.h>

static int print_finding(const pm_audit_chain_report *r)
{
    if (r->problem == NULL) {
        printf("ok: %lld %s", r->rows, r->rows == 1 ? "row" : "rows");
        if (r->pre_chain > 0) {
            printf(" (and %lld older rows from before the chain, without hashes)", r->pre_chain);
        }
        if (r->anchor_seq > 0) {
            printf(", from the anchor at chain place %lld", r->anchor_seq);
        }
        printf("; head %s\n", r->head_hash);
        return ADMIN_OK;
    }
    if (r->bad_id > 0) {
        printf("audit row %lld: %s\n", r->bad_id, r->problem);
    }
    else {
        printf("audit trail: %s\n", r->problem);
    }
    return ADMIN_FAIL;
}

int admin_cmd_audit_verify(admin_db *db, const admin_options *o)
{
    pm_audit_chain_report r;

    (void)o;
    if (pm_audit_chain_verify(db->exec, db->pool, &r) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    return print_finding(&r);
}
