/* Unit tests for the audit trail's hash chain (src/core/pm_audit_chain.c): the
 * canonical form matches an independent computation (Python's hashlib over the
 * documented encoding), and every field, the place and the predecessor count. */
#include "pm_audit_chain.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <string.h>

/* printf '%s' ... | sha256sum of the encoding in pm_audit_chain.h, made with Python */
#define FIRST  "a8300351e7c4de097b01aa081de2c61746bd16119f353caa6ade27d0538cc00f"
#define SECOND "683e12ef5d79ae5e804ac58c808f46c98fc85209fe6f52425a9f93fcc9683e7f"

static const char *const ROW[PM_AUDIT_FIELDS] = {
    "1733000000", "admin", "client.view", "42", NULL, "ok", "{\"q\":\"Zo\xc3\xab\"}",
    "127.0.0.1", "req-1"
};

static void test_known_values(apr_pool_t *p)
{
    const char *h1 = pm_audit_chain_hash(p, pm_audit_chain_origin, 1, ROW);

    is_str(h1, FIRST, "the first row's hash is the documented SHA-256");
    is_str(pm_audit_chain_hash(p, h1, 2, ROW), SECOND, "the second row's covers the first's");
    ok(strlen(pm_audit_chain_origin) == 64, "the origin is 64 hex digits");
}

static void test_every_part_counts(apr_pool_t *p)
{
    const char *base = pm_audit_chain_hash(p, pm_audit_chain_origin, 1, ROW);
    const char *row[PM_AUDIT_FIELDS];
    int i, all_differ = 1;

    for (i = 0; i < PM_AUDIT_FIELDS; i++) {
        memcpy(row, ROW, sizeof(row));
        row[i] = row[i] ? apr_pstrcat(p, row[i], "x", NULL) : "";
        all_differ &= strcmp(pm_audit_chain_hash(p, pm_audit_chain_origin, 1, row), base) != 0;
    }
    ok(all_differ, "changing any one field changes the hash (NULL and empty differ too)");
    ok(strcmp(pm_audit_chain_hash(p, pm_audit_chain_origin, 2, ROW), base) != 0,
       "the place counts");
    ok(strcmp(pm_audit_chain_hash(p, SECOND, 1, ROW), base) != 0, "the predecessor counts");
    memcpy(row, ROW, sizeof(row));
    row[1] = "adminclient.view";
    row[2] = "";
    ok(strcmp(pm_audit_chain_hash(p, pm_audit_chain_origin, 1, row), base) != 0,
       "moving text from one field to the next changes the hash (lengths are hashed)");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_known_values(p);
    test_every_part_counts(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
