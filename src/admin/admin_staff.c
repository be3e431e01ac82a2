/* admin_staff.c — the `staff` commands: add, update, grant, revoke, disable,
 * enable, list. Staff rows say who may use the Client Portal Manager and which
 * clients they may view (all_clients, or rows in staff_clients). */
#include "admin.h"
#include "pm_columns.h"
#include "pm_text.h"

#include <apr_strings.h>
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
} staff_row;

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
static const char *parse_client_id(apr_pool_t *p, const char *s)
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

/* what load_staff reads (pm_columns.h explains the form) */
#define STAFF_ROW_COLUMNS(COL, LAST) \
    COL(STAFF_ROW_ALL_CLIENTS, "all_clients") \
    COL(STAFF_ROW_ACTIVE, "active") \
    LAST(STAFF_ROW_DISPLAY_NAME, "display_name")
enum { STAFF_ROW_COLUMNS(PM_COL_NAME, PM_COL_NAME) };

static int load_staff(admin_db *db, const char *user, staff_row *st)
{
    apr_array_header_t *rows;
    const admin_row *r;

    memset(st, 0, sizeof(*st));
    if (admin_db_select(db, "SELECT " PM_SELECT_LIST(STAFF_ROW_COLUMNS) " FROM staff "
                        "WHERE username = %s", 1, &user, &rows) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (rows->nelts == 0) {
        return ADMIN_OK;
    }
    r = &APR_ARRAY_IDX(rows, 0, admin_row);
    st->exists = 1;
    st->all_clients = r->cols[STAFF_ROW_ALL_CLIENTS] && atoi(r->cols[STAFF_ROW_ALL_CLIENTS]) == 1;
    st->active = r->cols[STAFF_ROW_ACTIVE] && atoi(r->cols[STAFF_ROW_ACTIVE]) == 1;
    st->display_name = r->cols[STAFF_ROW_DISPLAY_NAME] ? r->cols[STAFF_ROW_DISPLAY_NAME] : "";
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
    const char *found;

    if (admin_db_value(db, "SELECT id FROM clients WHERE id = %s", 1, &id, &found)
        != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (found == NULL) {
        admin_error("unknown client id %s (see 'clients list')", id);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

static int staff_add(admin_db *db, const admin_options *o)
{
    const char *user = o->args[0];
    const char *name = o->display_name ? o->display_name : user;
    const char *problem;
    const char *args[4];
    staff_row st;

    if ((problem = username_problem(user)) != NULL) {
        admin_error("user name '%s' %s", user, problem);
        return ADMIN_FAIL;
    }
    if ((problem = display_name_problem(name)) != NULL) {
        admin_error("display name %s", problem);
        return ADMIN_FAIL;
    }
    if (load_staff(db, user, &st) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (st.exists) {
        admin_error("staff member '%s' already exists (change it with 'staff update')", user);
        return ADMIN_FAIL;
    }
    args[0] = user;
    args[1] = name;
    args[2] = o->all_clients == 1 ? "1" : "0";
    args[3] = apr_psprintf(db->pool, "%" APR_INT64_T_FMT, admin_now());
    if (admin_db_run(db, "INSERT INTO staff (username, display_name, all_clients, active, "
                     "created_at) VALUES (%s, %s, %s, 1, %s)", NULL, 4, args) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("added staff member %s (%s), %s\n", user, name,
           o->all_clients == 1 ? "may view all clients" : "may view granted clients only");
    return ADMIN_OK;
}

static int staff_update(admin_db *db, const admin_options *o)
{
    const char *args[3];
    const char *problem;
    staff_row st;

    if (o->display_name == NULL && o->all_clients < 0) {
        admin_error("staff update needs --name, --all-clients or --no-all-clients");
        return ADMIN_USAGE;
    }
    if (o->display_name && (problem = display_name_problem(o->display_name)) != NULL) {
        admin_error("display name %s", problem);
        return ADMIN_FAIL;
    }
    if (load_known_staff(db, o->args[0], &st) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    args[0] = o->display_name ? o->display_name : st.display_name;
    args[1] = o->all_clients < 0 ? (st.all_clients ? "1" : "0")
                                 : (o->all_clients ? "1" : "0");
    args[2] = o->args[0];
    if (admin_db_run(db, "UPDATE staff SET display_name = %s, all_clients = %s "
                     "WHERE username = %s", NULL, 3, args) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("updated staff member %s (%s), %s\n", o->args[0], args[0],
           args[1][0] == '1' ? "may view all clients" : "may view granted clients only");
    return ADMIN_OK;
}

static int staff_grant(admin_db *db, const admin_options *o, int grant)
{
    const char *user = o->args[0];
    const char *id = parse_client_id(db->pool, o->args[1]);
    const char *args[2];
    const char *have;
    staff_row st;
    int nrows = 0;

    if (id == NULL) {
        admin_error("client id '%s' is not a positive whole number", o->args[1]);
        return ADMIN_FAIL;
    }
    if (load_known_staff(db, user, &st) != ADMIN_OK || check_client_exists(db, id) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    args[0] = user;
    args[1] = id;
    if (!grant) {
        if (admin_db_run(db, "DELETE FROM staff_clients WHERE username = %s AND client_id = %s",
                         &nrows, 2, args) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
        printf(nrows ? "%s may no longer view client %s\n"
                     : "%s had no grant for client %s; nothing to do\n", user, id);
        if (st.all_clients) {
            printf("note: %s still views every client (all clients is on; "
                   "'staff update %s --no-all-clients' turns it off)\n", user, user);
        }
        return ADMIN_OK;
    }
    if (admin_db_value(db, "SELECT client_id FROM staff_clients WHERE username = %s "
                       "AND client_id = %s", 2, args, &have) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (have == NULL && admin_db_run(db, "INSERT INTO staff_clients (username, client_id) "
                                     "VALUES (%s, %s)", NULL, 2, args) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf(have ? "%s may already view client %s; nothing to do\n"
                : "%s may now view client %s\n", user, id);
    if (st.all_clients) {
        printf("note: %s views every client anyway (all clients is on)\n", user);
    }
    return ADMIN_OK;
}

static int staff_set_active(admin_db *db, const admin_options *o, int active)
{
    const char *args[2];
    staff_row st;

    if (load_known_staff(db, o->args[0], &st) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (st.active == active) {
        printf("%s is already %s; nothing to do\n", o->args[0], active ? "enabled" : "disabled");
        return ADMIN_OK;
    }
    args[0] = active ? "1" : "0";
    args[1] = o->args[0];
    if (admin_db_run(db, "UPDATE staff SET active = %s WHERE username = %s", NULL, 2, args)
        != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("%s is now %s\n", o->args[0], active ? "enabled" : "disabled");
    return ADMIN_OK;
}

static int staff_list(admin_db *db)
{
    apr_array_header_t *rows;

    if (admin_db_select(db, "SELECT s.username, s.display_name, s.all_clients, s.active, "
                        "(SELECT count(*) FROM staff_clients g WHERE g.username = s.username) "
                        "FROM staff s ORDER BY s.username", 0, NULL, &rows) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    admin_print_rows("username\tdisplay_name\tall_clients\tactive\tgranted_clients", rows);
    return ADMIN_OK;
}

int admin_cmd_staff(admin_db *db, const char *sub, const admin_options *o)
{
    if (strcmp(sub, "add") == 0) {
        return staff_add(db, o);
    }
    if (strcmp(sub, "update") == 0) {
        return staff_update(db, o);
    }
    if (strcmp(sub, "grant") == 0 || strcmp(sub, "revoke") == 0) {
        return staff_grant(db, o, strcmp(sub, "grant") == 0);
    }
    if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        return staff_set_active(db, o, strcmp(sub, "enable") == 0);
    }
    return staff_list(db);
}
