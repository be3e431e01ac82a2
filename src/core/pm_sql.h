/* pm_sql.h — every SQL statement the module and the admin tool run, by id. The
 * module's are prepared on each of its connections under their labels, the admin
 * tool's on first use; the same text serves sqlite3 and pgsql unless a statement
 * names its driver. */
#ifndef PM_SQL_H
#define PM_SQL_H

/* keys one PM_SQL_CLIENT_KEYS_ADD_PREFIXES statement takes */
#define PM_SQL_PREFIXES_PER_INSERT 8

/* the most rows a client list or search statement returns (a page of at most 100
 * and the one that says there is more); a constant in the SQL */
#define PM_SQL_PAGE_CAP      101
#define PM_SQL_PAGE_CAP_TEXT "101"

#include "pm_columns.h"

typedef enum {
    PM_SQL_TXN_WRITE_LOCK,
    PM_SQL_SETTINGS_ALL,
    PM_SQL_STAFF_GET,
    PM_SQL_CLIENT_LIST_ALL,
    PM_SQL_CLIENT_LIST_MINE,
    PM_SQL_CLIENT_SEARCH_WORD_ALL,
    PM_SQL_CLIENT_SEARCH_WORDS_ALL,
    PM_SQL_CLIENT_SEARCH_WORD_MINE,
    PM_SQL_CLIENT_SEARCH_WORDS_MINE,
    PM_SQL_CLIENT_SEARCH_BIRTH,
    PM_SQL_CLIENT_SEARCH_EMAIL,
    PM_SQL_CLIENT_KEYS_MISSING,
    PM_SQL_CLIENT_KEYS_SET_SORT,
    PM_SQL_CLIENT_KEYS_CLEAR_PREFIXES,
    PM_SQL_CLIENT_KEYS_ADD_PREFIXES,
    PM_SQL_CLIENT_KEYS_FORGET_LOCALE,
    PM_SQL_CLIENT_GET_VISIBLE,
    PM_SQL_CLIENT_INVITATIONS,
    PM_SQL_CLIENT_REPRESENTATIVES,
    PM_SQL_CLIENT_SET_EMAIL,
    PM_SQL_CLIENT_SUPERSEDE_PENDING,
    PM_SQL_CLIENT_SET_DECLINED,
    PM_SQL_CLIENT_CLEAR_DECLINED,
    PM_SQL_CLIENT_REVOKE_PENDING,
    PM_SQL_CLIENT_LOCK_ROW,
    PM_SQL_CLIENT_SET_PREFERENCES,
    PM_SQL_INVITATION_SUPERSEDE_STALE_CLIENT,
    PM_SQL_INVITATION_INSERT,
    PM_SQL_INVITATION_GET_VISIBLE,
    PM_SQL_INVITATION_ONE,
    PM_SQL_INVITATION_RESEND_STATE,
    PM_SQL_INVITATION_RESEND,
    PM_SQL_INVITATION_REVOKE,
    PM_SQL_TOKEN_RETIRE,
    PM_SQL_TOKENS_RETIRE_EARLIER,
    PM_SQL_TOKENS_CLEAR_EARLIER,
    PM_SQL_OUTBOX_INSERT,
    PM_SQL_OUTBOX_CANCEL_QUEUED,
    PM_SQL_OUTBOX_DUE,
    PM_SQL_OUTBOX_INSERT_TEST,
    PM_SQL_OUTBOX_CLAIM,
    PM_SQL_INVITATION_SET_TOKEN,
    PM_SQL_OUTBOX_SENT,
    PM_SQL_INVITATION_SENT,
    PM_SQL_OUTBOX_RETRY,
    PM_SQL_OUTBOX_FAILED,
    PM_SQL_REP_INSERT,
    PM_SQL_REP_GET_VISIBLE,
    PM_SQL_REP_EMAIL_TAKEN,
    PM_SQL_REP_UPDATE,
    PM_SQL_REP_SUPERSEDE_PENDING,
    PM_SQL_REP_REMOVE,
    PM_SQL_REP_REVOKE_OPEN,
    PM_SQL_REP_DISABLE_ACCOUNTS,
    PM_SQL_INVITATION_SUPERSEDE_STALE_REP,
    PM_SQL_TOKEN_FIND,
    PM_SQL_TOKEN_SUPERSEDED,
    PM_SQL_VERIFY_RESERVE_INVITATION,
    PM_SQL_VERIFY_RESERVE_CLIENT,
    PM_SQL_VERIFY_REFUND_INVITATION,
    PM_SQL_VERIFY_REFUND_CLIENT,
    PM_SQL_VERIFY_LOCK_INVITATION,
    PM_SQL_VERIFY_LOCK_CLIENT,
    PM_SQL_VERIFY_RESET_CLIENT,
    PM_SQL_INVITATION_CONSUME,
    PM_SQL_ACCOUNT_INSERT,
    PM_SQL_SETTINGS_UPSERT,
    PM_SQL_SETTINGS_DELETE,
    PM_SQL_OUTBOX_COUNTS,
    PM_SQL_OUTBOX_RECENT,
    PM_SQL_AUDIT_SEARCH,
    PM_SQL_AUDIT_INSERT,
    PM_SQL_AUDIT_BY_CLIENT,
    PM_SQL_AUDIT_TEST_EMAILS,
    PM_SQL_CLIENT_ACTIVE_ACCOUNTS,
    PM_SQL_CLIENT_DISABLE_ACCOUNTS,
    PM_SQL_MODULE_COUNT,          /* the module prepares the statements above */

    /* portal-manager-admin only (src/admin/) */
    PM_SQL_ADMIN_TABLE_EXISTS_SQLITE = PM_SQL_MODULE_COUNT,
    PM_SQL_ADMIN_TABLE_EXISTS_PGSQL,
    PM_SQL_ADMIN_SCHEMA_VERSION,
    PM_SQL_ADMIN_SCHEMA_VERSION_SET,
    PM_SQL_ADMIN_STAFF_INSERT,
    PM_SQL_ADMIN_STAFF_UPDATE,
    PM_SQL_ADMIN_STAFF_SET_ACTIVE,
    PM_SQL_ADMIN_STAFF_LIST,
    PM_SQL_ADMIN_STAFF_COUNT,
    PM_SQL_ADMIN_DEMO_STAFF_COUNT,
    PM_SQL_ADMIN_GRANT_GET,
    PM_SQL_ADMIN_GRANT_INSERT,
    PM_SQL_ADMIN_GRANT_DELETE,
    PM_SQL_ADMIN_CLIENT_EXISTS,
    PM_SQL_ADMIN_CLIENT_COUNT,
    PM_SQL_ADMIN_CLIENT_INSERT,
    PM_SQL_ADMIN_CLIENT_LIST,
    PM_SQL_COUNT                  /* keep last */
} pm_sql_id;

typedef struct {
    const char *label;            /* a valid SQL identifier: a PREPARE name on pgsql */
    const char *sql;              /* apr_dbd placeholders: %s text, %d int, %lld bigint */
    int ncols;                    /* the columns its rows carry: PM_NCOLS of its set(s) */
    int nargs;                    /* filled in by pm_sql_init() */
    const char *driver;           /* NULL: both; else the one apr_dbd driver it is for */
} pm_sql_stmt;

/* Count each statement's placeholders (once, at startup). */
void pm_sql_init(void);
const pm_sql_stmt *pm_sql_get(pm_sql_id id);

#endif
