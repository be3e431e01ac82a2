/* admin_staff.c — the `staff` commands: add, update, grant, revoke, disable,
 * enable, list. Staff rows say who may use the Client Portal Manager and which
 * clients they may view (all_clients, or rows in staff_clients); every change is
 * audited (staff.*, user admin-tool) in its own transaction. */
#include "admin.h"
#include "pm_columns.h"
#include "pm_text.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USERNAME_BYTES 255
#define MAX_DISPLAY_NAME_CHARS 100

typedef struct {
    int exists;
    int all_clients;
    int active;
    const char *display_name;
    const char *email;        /* NULL: none */
} staff_row;

/* One change of a staff command, inside the transaction audited() opens; its audit
 * rows go to t. */
typedef int (*staff_change)(admin_db *db, const admin_options *o, admin_trail *t);

/* NULL when s can be a staff user name (what Apache puts in r->user). */
static const char *username_problem(const char *s)
{
    size_t len = strlen(s);

    if (len == 0) {
        return "is empty";
    }
    if (len > MAX_USERNAME_BYTES) {
        return "is longer than 255 bytes";
    }
    if (!pm_utf8_valid(s, len, 0)) {
        return "is not valid UTF-8 or contains control characters";
    }
    if (s[0] == ' ' || s[len - 1] == ' ') {
        return "starts or ends with a space";
    }
    return NULL;
}

static const char *display_name_problem(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ') {
        return "must not be empty or start or end with a space";
    }
    if (!pm_utf8_valid(s, len, 0)) {
        return "is not valid UTF-8 or contains control characters";
    }
    if (pm_utf8_length(s) > MAX_DISPLAY_NAME_CHARS) {
        return "is longer than 100 characters";
    }
    return NULL;
}

/* A client id is a positive decimal integer; returns it normalised or NULL. */
const char *admin_parse_client_id(apr_pool_t *p, const char *s)
{
    const char *c;
    apr_int64_t id;

    if (*s == '\0' || strlen(s) > 18) {
        return NULL;
    }
    for (c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            return NULL;
        }
    }
    id = apr_atoi64(s);
    return id > 0 ? apr_psprintf(p, "%" APR_INT64_T_FMT, id) : NULL;
}

static int load_staff(admin_db *db, const char *user, staff_row *st)
{
    apr_array_header_t *rows;
    const pm_row *r;

    memset(st, 0, sizeof(*st));
    if (pm_db_select(db->exec, PM_SQL_STAFF_GET, &rows, user) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if ((r = pm_first_row(rows)) == NULL) {
        return ADMIN_OK;
    }
    st->exists = 1;
    st->all_clients = pm_row_int(r, STAFF_ALL_CLIENTS, 0) == 1;
    st->active = pm_row_int(r, STAFF_ACTIVE, 0) == 1;
    st->display_name = pm_row_str(r, STAFF_DISPLAY_NAME) ? pm_row_str(r, STAFF_DISPLAY_NAME) : "";
    st->email = pm_row_str(r, STAFF_EMAIL);
    return ADMIN_OK;
}

/* The change and its audit rows in one transaction: both or neither. */
/* What a change has to say ("added staff member ..."), printed once it is committed,
 * or never: a change whose audit rows could not be written did not happen. The tool
 * runs one command at a time. */
static apr_array_header_t *said;

static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(said, const char *) = apr_pvsprintf(said->pool, fmt, ap);
    va_end(ap);
}

static int audited(admin_db *db, const admin_options *o, staff_change change)
{
    admin_trail *t = admin_trail_make(db->pool);
    int rc, i;

    said = apr_array_make(db->pool, 4, sizeof(const char *));
    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if ((rc = change(db, o, t)) != ADMIN_OK || (rc = admin_trail_write(db, t)) != ADMIN_OK
        || (rc = admin_db_commit(db)) != ADMIN_OK) {
        admin_db_rollback(db);
        return rc;
    }
    for (i = 0; i < said->nelts; i++) {
        fputs(APR_ARRAY_IDX(said, i, const char *), stdout);
    }
    return ADMIN_OK;
}

/* Loads a staff member who must exist; an unknown user is a failure. */
static int load_known_staff(admin_db *db, const char *user, staff_row *st)
{
    if (load_staff(db, user, st) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (!st->exists) {
        admin_error("unknown staff member '%s' (see 'staff list')", user);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

static int check_client_exists(admin_db *db, const char *id)
{
    int found;

    if (admin_db_count(db, PM_SQL_ADMIN_CLIENT_EXISTS, &found, id, NULL) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (found == 0) {
        admin_error("unknown client id %s (see 'clients list')", id);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

static int staff_add_check(const admin_options *o)
{
    const char *user = o->args[0];
    const char *problem;

    if ((problem = username_problem(user)) != NULL) {
        admin_error("user name '%s' %s", user, problem);
        return ADMIN_FAIL;
    }
    if ((problem = display_name_problem(o->display_name ? o->display_name : user)) != NULL) {
        admin_error("display name %s", problem);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* staff.add {staff, all_clients} */
static int staff_add(admin_db *db, const admin_options *o, admin_trail *t)
{
    const char *user = o->args[0];
    const char *name = o->display_name ? o->display_name : user;
    staff_row st;

    if (load_staff(db, user, &st) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (st.exists) {
        admin_error("staff member '%s' already exists (change it with 'staff update')", user);
        return ADMIN_FAIL;
    }
    if (pm_db_exec(db->exec, PM_SQL_ADMIN_STAFF_INSERT, NULL, user, name,
                   o->all_clients == 1 ? "1" : "0",
                   apr_psprintf(db->pool, "%" APR_INT64_T_FMT, admin_now())) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    admin_trail_add(t, "staff.add", NULL, json_pack("{s:s,s:b}", "staff", user,
                                                    "all_clients", o->all_clients == 1));
    say("added staff member %s (%s), %s\n", user, name,
           o->all_clients == 1 ? "may view all clients" : "may view granted clients only");
    return ADMIN_OK;
}

/* The options of staff update: at least one, each value valid (the email as the
 * module checks a client's, pm_email_problem). */
static int staff_update_check(const admin_options *o)
{
    const char *problem;

    if (o->display_name == NULL && o->all_clients < 0 && o->email == NULL && !o->no_email) {
        admin_error("staff update needs --name, --all-clients, --no-all-clients, --email "
                    "or --no-email");
        return ADMIN_USAGE;
    }
    if (o->display_name && (problem = display_name_problem(o->display_name)) != NULL) {
        admin_error("display name %s", problem);
        return ADMIN_FAIL;
    }
    if (o->email && (problem = pm_email_problem(o->email)) != NULL) {
        admin_error("email '%s' %s", o->email, problem);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* --email ADDRESS or --no-email: where the staff member's notices go. */
static int staff_update_email(admin_db *db, const admin_options *o, const staff_row *st,
                              json_t *changed)
{
    if (o->email ? st->email == NULL || strcmp(st->email, o->email) != 0 : st->email != NULL) {
        json_array_append_new(changed, json_string("email"));
    }
    if (pm_db_exec(db->exec, PM_SQL_ADMIN_STAFF_SET_EMAIL, NULL, o->email, o->args[0])
        != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (o->email) {
        say("%s's notices go to %s\n", o->args[0], o->email);
    }
    else {
        say("%s has no email address now: no notices are sent to them\n", o->args[0]);
    }
    return ADMIN_OK;
}

/* --name, --all-clients, --no-all-clients; the audit detail says what changed, and
 * all_clients {before, after} when it did. */
static int staff_update_access(admin_db *db, const admin_options *o, const staff_row *st,
                               json_t *detail, json_t *changed)
{
    const char *args[3];

    if (o->display_name && strcmp(o->display_name, st->display_name) != 0) {
        json_array_append_new(changed, json_string("display_name"));
    }
    if (o->all_clients >= 0 && o->all_clients != st->all_clients) {
        json_array_append_new(changed, json_string("all_clients"));
        json_object_set_new(detail, "all_clients",
                            json_pack("{s:b,s:b}", "before", st->all_clients,
                                      "after", o->all_clients));
    }

    args[0] = o->display_name ? o->display_name : st->display_name;
    args[1] = o->all_clients < 0 ? (st->all_clients ? "1" : "0")
                                 : (o->all_clients ? "1" : "0");
    args[2] = o->args[0];
    if (pm_db_exec(db->exec, PM_SQL_ADMIN_STAFF_UPDATE, NULL, args[0], args[1], args[2])
        != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    say("updated staff member %s (%s), %s\n", o->args[0], args[0],
           args[1][0] == '1' ? "may view all clients" : "may view granted clients only");
    return ADMIN_OK;
}

/* staff.update {staff, changed: [display_name, all_clients, email], all_clients?}:
 * the names of the fields, never the new name or address; no row when nothing changed */
static int staff_update(admin_db *db, const admin_options *o, admin_trail *t)
{
    json_t *detail = admin_trail_staff(o->args[0]), *changed = json_array();
    staff_row st;

    json_object_set_new(detail, "changed", changed);
    if (load_known_staff(db, o->args[0], &st) != ADMIN_OK
        || ((o->display_name || o->all_clients >= 0)
            && staff_update_access(db, o, &st, detail, changed) != ADMIN_OK)
        || ((o->email || o->no_email) && staff_update_email(db, o, &st, changed) != ADMIN_OK)) {
        json_decref(detail);
        return ADMIN_FAIL;
    }
    if (json_array_size(changed) == 0) {
        json_decref(detail);
        return ADMIN_OK;
    }
    admin_trail_add(t, "staff.update", NULL, detail);
    return ADMIN_OK;
}

/* staff.grant / staff.revoke {staff} with the client's id, when the grant came or went */
static int staff_grant_change(admin_db *db, const admin_options *o, admin_trail *t, int grant)
{
    const char *user = o->args[0];
    const char *id = admin_parse_client_id(db->pool, o->args[1]);
    staff_row st;
    int nrows = 0, have;

    if (id == NULL) {
        admin_error("client id '%s' is not a positive whole number", o->args[1]);
        return ADMIN_FAIL;
    }
    if (load_known_staff(db, user, &st) != ADMIN_OK || check_client_exists(db, id) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (!grant) {
        if (pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_DELETE, &nrows, user, id) != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
        if (nrows) {
            admin_trail_add(t, "staff.revoke", id, admin_trail_staff(user));
        }
        say(nrows ? "%s may no longer view client %s\n"
                     : "%s had no grant for client %s; nothing to do\n", user, id);
        if (st.all_clients) {
            say("note: %s still views every client (all clients is on; "
                   "'staff update %s --no-all-clients' turns it off)\n", user, user);
        }
        return ADMIN_OK;
    }
    if (admin_db_count(db, PM_SQL_ADMIN_GRANT_GET, &have, user, id) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (!have && pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_INSERT, NULL, user, id)
                 != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (!have) {
        admin_trail_add(t, "staff.grant", id, admin_trail_staff(user));
    }
    say(have ? "%s may already view client %s; nothing to do\n"
                : "%s may now view client %s\n", user, id);
    if (st.all_clients) {
        say("note: %s views every client anyway (all clients is on)\n", user);
    }
    return ADMIN_OK;
}

static int staff_grant(admin_db *db, const admin_options *o, admin_trail *t)
{
    return staff_grant_change(db, o, t, 1);
}

static int staff_revoke(admin_db *db, const admin_options *o, admin_trail *t)
{
    return staff_grant_change(db, o, t, 0);
}

/* staff.enable / staff.disable {staff}, when it changed */
static int staff_set_active(admin_db *db, const admin_options *o, admin_trail *t, int active)
{
    staff_row st;

    if (load_known_staff(db, o->args[0], &st) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (st.active == active) {
        say("%s is already %s; nothing to do\n", o->args[0], active ? "enabled" : "disabled");
        return ADMIN_OK;
    }
    if (pm_db_exec(db->exec, PM_SQL_ADMIN_STAFF_SET_ACTIVE, NULL, active ? "1" : "0", o->args[0])
        != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    admin_trail_add(t, active ? "staff.enable" : "staff.disable", NULL,
                    admin_trail_staff(o->args[0]));
    say("%s is now %s\n", o->args[0], active ? "enabled" : "disabled");
    return ADMIN_OK;
}

static int staff_enable(admin_db *db, const admin_options *o, admin_trail *t)
{
    return staff_set_active(db, o, t, 1);
}

static int staff_disable(admin_db *db, const admin_options *o, admin_trail *t)
{
    return staff_set_active(db, o, t, 0);
}

/* When the module last served a request of theirs (staff.last_seen_at, written at
 * most once a day): "2026-12-07T14:03Z" (UTC), or "never". */
static const char *last_seen_text(apr_pool_t *p, const char *epoch)
{
    apr_time_exp_t t;
    char buf[32];
    apr_size_t len;

    if (epoch == NULL
        || apr_time_exp_gmt(&t, apr_time_from_sec(apr_atoi64(epoch))) != APR_SUCCESS
        || apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%MZ", &t) != APR_SUCCESS) {
        return "never";
    }
    return apr_pstrdup(p, buf);
}

static int staff_list(admin_db *db)
{
    apr_array_header_t *rows;
    int i;

    if (pm_db_select(db->exec, PM_SQL_ADMIN_STAFF_LIST, &rows) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        r->v[ADMIN_STAFF_LAST_SEEN] = last_seen_text(db->pool, r->v[ADMIN_STAFF_LAST_SEEN]);
    }
    admin_print_rows("username\tdisplay_name\tall_clients\tactive\tgranted_clients\temail\t"
                     "notify\tlast_seen", rows);
    return ADMIN_OK;
}

int admin_cmd_staff(admin_db *db, const char *sub, const admin_options *o)
{
    static const struct {
        const char *sub;
        staff_change change;
    } changes[] = {
        { "add", staff_add }, { "update", staff_update }, { "grant", staff_grant },
        { "revoke", staff_revoke }, { "disable", staff_disable }, { "enable", staff_enable }
    };
    size_t i;
    int rc;

    if ((strcmp(sub, "add") == 0 && (rc = staff_add_check(o)) != ADMIN_OK)
        || (strcmp(sub, "update") == 0 && (rc = staff_update_check(o)) != ADMIN_OK)) {
        return rc;
    }
    for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        if (strcmp(sub, changes[i].sub) == 0) {
            return audited(db, o, changes[i].change);
        }
    }
    return staff_list(db);
}
