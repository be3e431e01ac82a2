/* admin_trail.c — the tool's own audit rows (user 'admin-tool'): who ran it (the
 * operating-system user, and SUDO_USER when set) in every detail, the rows gathered
 * while a command works and appended to the hash chain just before its commit. */
#include "admin.h"
#include "pm_audit_chain.h"

#include <apr_strings.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct admin_trail {
    apr_pool_t *pool;
    const char *now;
    apr_array_header_t *rows;    /* const char *const * of PM_AUDIT_FIELDS each */
};

admin_trail *admin_trail_make(apr_pool_t *p)
{
    admin_trail *t = apr_palloc(p, sizeof(*t));

    t->pool = p;
    t->now = pm_arg_int(p, admin_now());
    t->rows = apr_array_make(p, 4, sizeof(const char *const *));
    return t;
}

/* The effective user's name (its number when it has none), and who ran sudo. */
static void add_runner(json_t *detail)
{
    const char *sudo = getenv("SUDO_USER");
    struct passwd *pw = getpwuid(geteuid());
    char uid[32];

    if (pw && pw->pw_name) {
        json_object_set_new(detail, "os_user", json_string(pw->pw_name));
    }
    else {
        snprintf(uid, sizeof(uid), "%lu", (unsigned long)geteuid());
        json_object_set_new(detail, "os_user", json_string(uid));
    }
    if (sudo && *sudo) {
        json_object_set_new(detail, "sudo_user", json_string(sudo));
    }
}

void admin_trail_add(admin_trail *t, const char *action, const char *client_id,
                     json_t *detail)
{
    const char **row = apr_pcalloc(t->pool, PM_AUDIT_FIELDS * sizeof(*row));
    char *text;

    if (detail == NULL) {
        detail = json_object();
    }
    add_runner(detail);
    text = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(detail);
    row[0] = t->now;
    row[1] = "admin-tool";
    row[2] = action;
    row[3] = client_id ? apr_pstrdup(t->pool, client_id) : NULL;
    row[5] = "ok";
    row[6] = text ? apr_pstrdup(t->pool, text) : "{}";
    free(text);
    APR_ARRAY_PUSH(t->rows, const char *const *) = row;
}

int admin_trail_write(admin_db *db, admin_trail *t)
{
    if (pm_audit_chain_append(db->exec, t->pool, (const char *const *const *)t->rows->elts,
                              t->rows->nelts) != APR_SUCCESS) {
        admin_error("writing the audit trail failed; nothing was done");
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

json_t *admin_trail_staff(const char *user)
{
    return json_pack("{s:s}", "staff", user);
}
