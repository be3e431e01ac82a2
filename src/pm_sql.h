/* pm_sql.h — every SQL statement the module runs, by id. Each is prepared through
 * mod_dbd at startup under its label; the same text serves sqlite3 and pgsql. */
#ifndef PM_SQL_H
#define PM_SQL_H

typedef enum {
    PM_SQL_TXN_WRITE_LOCK,
    PM_SQL_SETTINGS_ALL,
    PM_SQL_STAFF_GET,
    PM_SQL_CLIENT_LIST_ALL,
    PM_SQL_CLIENT_LIST_ALL_SEARCH,
    PM_SQL_CLIENT_LIST_MINE,
    PM_SQL_CLIENT_LIST_MINE_SEARCH,
    PM_SQL_CLIENT_GET_VISIBLE,
    PM_SQL_CLIENT_INVITATIONS,
    PM_SQL_CLIENT_REPRESENTATIVES,
    PM_SQL_CLIENT_SET_EMAIL,
    PM_SQL_CLIENT_SUPERSEDE_PENDING,
    PM_SQL_CLIENT_SET_DECLINED,
    PM_SQL_CLIENT_CLEAR_DECLINED,
    PM_SQL_CLIENT_REVOKE_PENDING,
    PM_SQL_CLIENT_SET_PREFERENCES,
    PM_SQL_INVITATION_SUPERSEDE_STALE_CLIENT,
    PM_SQL_INVITATION_INSERT,
    PM_SQL_INVITATION_GET_VISIBLE,
    PM_SQL_INVITATION_ONE,
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
    PM_SQL_OUTBOX_SET_TOKEN,
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
    PM_SQL_INVITATION_VERIFY_FAILED,
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
    PM_SQL_COUNT                  /* keep last */
} pm_sql_id;

typedef struct {
    const char *label;            /* a valid SQL identifier: a PREPARE name on pgsql */
    const char *sql;              /* apr_dbd placeholders: %s text, %d int, %lld bigint */
    int nargs;                    /* filled in by pm_sql_init() */
} pm_sql_stmt;

/* Count each statement's placeholders (once, at startup). */
void pm_sql_init(void);
const pm_sql_stmt *pm_sql_get(pm_sql_id id);

#endif
