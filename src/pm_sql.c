/* pm_sql.c — the statement table. All SQL lives here so a reviewer can read every
 * query the module can run in one place; nothing else builds SQL text. */
#include "pm_sql.h"

#include <stddef.h>

/* The columns every client summary row carries, in this order (see pm_api_clients.c):
 * id, first_name, last_name, date_of_birth, declined_at, latest invitation status,
 * its expires_at, its latest delivery status, active client accounts,
 * last_name_key, first_name_key. */
#define CLIENT_SUMMARY_COLUMNS \
    "c.id, c.first_name, c.last_name, c.date_of_birth, c.declined_at, " \
    "i.status, i.expires_at, o.status, " \
    "(SELECT count(*) FROM portal_accounts a WHERE a.client_id = c.id " \
    "   AND a.representative_id IS NULL AND a.status = 'active'), " \
    "c.last_name_key, c.first_name_key "

/* The client's latest invitation (to the client, not a representative) and
 * that invitation's latest outbox row. */
#define CLIENT_LATEST_INVITATION \
    "LEFT JOIN invitations i ON i.id = (SELECT max(i2.id) FROM invitations i2 " \
    "   WHERE i2.client_id = c.id AND i2.representative_id IS NULL) " \
    "LEFT JOIN outbox o ON o.id = (SELECT max(o2.id) FROM outbox o2 " \
    "   WHERE o2.invitation_id = i.id) "

#define NAME_PREFIX_MATCH \
    "((c.last_name_key >= %s AND c.last_name_key < %s) " \
    " OR (c.first_name_key >= %s AND c.first_name_key < %s)) "

/* keyset: strictly after the cursor's (last_name_key, first_name_key, id) */
#define AFTER_CURSOR \
    "(c.last_name_key, c.first_name_key, c.id) > (%s, %s, %lld) "

/* LIMIT takes CAST(... AS integer): sqlite3's driver binds every value as text */
#define CLIENT_ORDER \
    "ORDER BY c.last_name_key, c.first_name_key, c.id LIMIT CAST(%d AS integer)"

/* A client is visible to an active staff member who sees all clients, or to one
 * with a staff_clients row for it. */
#define CLIENT_VISIBLE_TO \
    "(EXISTS (SELECT 1 FROM staff s WHERE s.username = %s AND s.active = 1 " \
    "         AND s.all_clients = 1) " \
    " OR EXISTS (SELECT 1 FROM staff_clients sc WHERE sc.username = %s " \
    "         AND sc.client_id = c.id)) "

static pm_sql_stmt statements[PM_SQL_COUNT] = {
    [PM_SQL_STAFF_GET] = { "pm_staff_get",
        "SELECT username, display_name, all_clients, active FROM staff WHERE username = %s" },

    [PM_SQL_CLIENT_LIST_ALL] = { "pm_client_list_all",
        "SELECT " CLIENT_SUMMARY_COLUMNS "FROM clients c " CLIENT_LATEST_INVITATION
        "WHERE " AFTER_CURSOR CLIENT_ORDER },
    [PM_SQL_CLIENT_LIST_ALL_SEARCH] = { "pm_client_list_all_search",
        "SELECT " CLIENT_SUMMARY_COLUMNS "FROM clients c " CLIENT_LATEST_INVITATION
        "WHERE " NAME_PREFIX_MATCH "AND " AFTER_CURSOR CLIENT_ORDER },
    [PM_SQL_CLIENT_LIST_MINE] = { "pm_client_list_mine",
        "SELECT " CLIENT_SUMMARY_COLUMNS
        "FROM staff_clients sc JOIN clients c ON c.id = sc.client_id " CLIENT_LATEST_INVITATION
        "WHERE sc.username = %s AND " AFTER_CURSOR CLIENT_ORDER },
    [PM_SQL_CLIENT_LIST_MINE_SEARCH] = { "pm_client_list_mine_search",
        "SELECT " CLIENT_SUMMARY_COLUMNS
        "FROM staff_clients sc JOIN clients c ON c.id = sc.client_id " CLIENT_LATEST_INVITATION
        "WHERE sc.username = %s AND " NAME_PREFIX_MATCH "AND " AFTER_CURSOR CLIENT_ORDER },

    /* summary columns, then email, declined_by, declined_note, statement_notifications */
    [PM_SQL_CLIENT_GET_VISIBLE] = { "pm_client_get_visible",
        "SELECT " CLIENT_SUMMARY_COLUMNS
        ", c.email, c.declined_by, c.declined_note, c.statement_notifications "
        "FROM clients c " CLIENT_LATEST_INVITATION
        "WHERE c.id = %lld AND " CLIENT_VISIBLE_TO },

    [PM_SQL_CLIENT_INVITATIONS] = { "pm_client_invitations",
        "SELECT i.id, i.representative_id, i.email, i.status, i.created_by, i.created_at, "
        "       i.expires_at, i.sent_at, i.responded_at, i.send_count, "
        "       o.status, o.last_error "
        "FROM invitations i "
        "LEFT JOIN outbox o ON o.id = (SELECT max(o2.id) FROM outbox o2 "
        "   WHERE o2.invitation_id = i.id) "
        "WHERE i.client_id = %lld ORDER BY i.id DESC" },

    [PM_SQL_CLIENT_REPRESENTATIVES] = { "pm_client_representatives",
        "SELECT r.id, r.email, r.first_name, r.last_name, r.relationship, r.created_at, "
        "       (SELECT count(*) FROM portal_accounts a WHERE a.representative_id = r.id "
        "          AND a.status = 'active') "
        "FROM representatives r WHERE r.client_id = %lld AND r.removed_at IS NULL "
        "ORDER BY r.id" },

    [PM_SQL_CLIENT_SET_EMAIL] = { "pm_client_set_email",
        "UPDATE clients SET email = %s, updated_at = %lld WHERE id = %lld" },
    /* a pending invitation to a different address than the new one is superseded */
    [PM_SQL_CLIENT_SUPERSEDE_PENDING] = { "pm_client_supersede_pending",
        "UPDATE invitations SET status = 'superseded', responded_at = %lld "
        "WHERE client_id = %lld AND representative_id IS NULL AND status = 'pending' "
        "  AND lower(email) <> lower(%s)" },
    [PM_SQL_CLIENT_SET_DECLINED] = { "pm_client_set_declined",
        "UPDATE clients SET declined_at = %lld, declined_by = %s, declined_note = %s, "
        "       updated_at = %lld WHERE id = %lld" },
    [PM_SQL_CLIENT_CLEAR_DECLINED] = { "pm_client_clear_declined",
        "UPDATE clients SET declined_at = NULL, declined_by = NULL, declined_note = NULL, "
        "       updated_at = %lld WHERE id = %lld" },
    [PM_SQL_CLIENT_REVOKE_PENDING] = { "pm_client_revoke_pending",
        "UPDATE invitations SET status = 'revoked', responded_at = %lld "
        "WHERE client_id = %lld AND representative_id IS NULL AND status = 'pending'" },
    [PM_SQL_CLIENT_SET_PREFERENCES] = { "pm_client_set_preferences",
        "UPDATE clients SET statement_notifications = %d, updated_at = %lld WHERE id = %lld" },

    [PM_SQL_AUDIT_INSERT] = { "pm_audit_insert",
        "INSERT INTO audit_log (at, username, action, client_id, object_id, result, detail, "
        "                       remote_ip, request_id) "
        "VALUES (%lld, %s, %s, %lld, %lld, %s, %s, %s, %s)" },
    [PM_SQL_AUDIT_BY_CLIENT] = { "pm_audit_by_client",
        "SELECT id, at, username, action, object_id, result, detail, request_id "
        "FROM audit_log WHERE client_id = %lld AND id < %lld ORDER BY id DESC "
        "LIMIT CAST(%d AS integer)" },
};

static int count_placeholders(const char *sql)
{
    int n = 0;
    const char *s;

    for (s = sql; *s; s++) {
        if (s[0] == '%' && s[1] == '%') {
            s++;
        }
        else if (s[0] == '%') {
            n++;
        }
    }
    return n;
}

void pm_sql_init(void)
{
    int i;

    for (i = 0; i < PM_SQL_COUNT; i++) {
        statements[i].nargs = count_placeholders(statements[i].sql);
    }
}

const pm_sql_stmt *pm_sql_get(pm_sql_id id)
{
    return (id >= 0 && id < PM_SQL_COUNT) ? &statements[id] : NULL;
}
