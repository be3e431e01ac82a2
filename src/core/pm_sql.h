/* pm_sql.h — every SQL statement the module and the admin tool run, by id. The
 * module's are prepared on each of its connections under their labels, the admin
 * tool's on first use; the same text serves sqlite3 and pgsql unless a statement
 * names its driver. */
#ifndef PM_SQL_H
#define PM_SQL_H

/* the schema version these statements are written for: the newest migration in
 * conf/schema/migrations/ (t/unit/test_db checks that they agree) */
#define PM_SCHEMA_VERSION 35

/* rows (prefix, sort key, client id) one PM_SQL_CLIENT_KEYS_ADD or _STAGE statement
 * takes */
#define PM_SQL_STAGE_ROWS 64
/* rows (client id, sort key, prefixes) one PM_SQL_CLIENT_KEYS_SET_ADD statement takes */
#define PM_SQL_KEY_SET_ROWS 16
/* new clients one PM_SQL_ROSTER_CLIENTS_INSERT_PGSQL statement takes (11 values each) */
#define PM_SQL_NEW_CLIENTS 16
/* chart numbers one PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS statement takes, and dates of
 * birth one PM_SQL_ROSTER_CLIENTS_UNNAMED statement takes */
#define PM_SQL_EXTERNAL_IDS 64
/* prefixes one PM_SQL_CLIENT_KEYS_DROP_PREFIXES statement takes */
#define PM_SQL_DROP_PREFIXES 32

/* the most rows a client list or search statement returns (a page of at most 100
 * and the one that says there is more); a constant in the SQL */
#define PM_SQL_PAGE_CAP      101
#define PM_SQL_PAGE_CAP_TEXT "101"
/* coming of age: the rows one PM_SQL_REVIEW_CANDIDATES / PM_SQL_MAJORITY_CANDIDATES
 * page returns (GET /reviews lists at most PM_SQL_REVIEW_PAGE due reviews; the
 * worker walks every page) */
#define PM_SQL_REVIEW_PAGE        1000
#define PM_SQL_REVIEW_PAGE_TEXT   "1000"
#define PM_SQL_MAJORITY_PAGE      500
#define PM_SQL_MAJORITY_PAGE_TEXT "500"
/* the outbox screen's counts stop here (GET /admin/outbox answers it as counts_cap) */
#define PM_OUTBOX_COUNT_CAP      100
#define PM_OUTBOX_COUNT_CAP_TEXT "100"

#include "pm_columns.h"

/* Every table of the schema that holds data, in the order portal-manager-admin copy
 * writes them (src/admin/admin_copy.c): each after the tables its foreign keys name,
 * but for one column per table that may point forward (NULL: none): the rows that
 * fill it are held back and written right after the table it names (a reset link's
 * invitation names its account; the account names the invitation it came from). schema_version and client_name_prefixes_stage are left out
 * (init writes the one; the other is empty outside a transaction). The copy refuses
 * a database with a table or foreign key this list does not account for. */
#define PM_COPY_TABLES(X) \
    X(STAFF, staff, NULL) \
    X(SETTINGS, settings, NULL) \
    X(CLIENTS, clients, NULL) \
    X(CLIENT_NAME_KEY_SETS, client_name_key_sets, NULL) \
    X(CLIENT_NAME_PREFIXES, client_name_prefixes, NULL) \
    X(STAFF_CLIENTS, staff_clients, NULL) \
    X(REPRESENTATIVES, representatives, NULL) \
    X(INVITATIONS, invitations, "account_id") \
    X(PORTAL_ACCOUNTS, portal_accounts, NULL) \
    X(SUPERSEDED_TOKENS, superseded_tokens, NULL) \
    X(OUTBOX, outbox, NULL) \
    X(ACCOUNT_GRANTS, account_grants, NULL) \
    X(AUDIT_LOG, audit_log, NULL) \
    X(AUDIT_CHAIN, audit_chain, NULL) \
    X(AUDIT_FLUSH, audit_flush, NULL)
/* the ncols of a statement whose rows carry every column of its table (SELECT *) */
#define PM_SQL_ANY_COLS (-1)
/* rows one PM_SQL_COPY_WRITE_* statement takes (a JSON array) */
#define PM_SQL_COPY_ROWS 500

/* read (SQLite), count (the target empty?), clear (rows the target's triggers made),
 * write (PostgreSQL) */
#define PM_COPY_IDS(U, t, deferred) \
    PM_SQL_COPY_READ_##U, PM_SQL_COPY_COUNT_##U, PM_SQL_COPY_CLEAR_##U, PM_SQL_COPY_WRITE_##U,

typedef enum {
    PM_SQL_TXN_WRITE_LOCK,
    PM_SQL_SETTINGS_ALL,
    PM_SQL_STAFF_GET,
    PM_SQL_STAFF_LOCK_ROW,
    PM_SQL_STAFF_SET_NOTIFY,
    PM_SQL_STAFF_SEEN,
    PM_SQL_CLIENT_LIST_ALL,
    PM_SQL_CLIENT_LIST_MINE,
    PM_SQL_CLIENT_LIST_MINE_PGSQL,
    PM_SQL_CLIENT_SEARCH_WORD_ALL,
    PM_SQL_CLIENT_SEARCH_WORD_ALL_PGSQL,
    PM_SQL_CLIENT_SEARCH_WORDS_ALL,
    PM_SQL_CLIENT_SEARCH_WORDS_ALL_PGSQL,
    PM_SQL_CLIENT_SEARCH_WORD_MINE,
    PM_SQL_CLIENT_SEARCH_WORD_MINE_PGSQL,
    PM_SQL_CLIENT_SEARCH_WORDS_MINE,
    PM_SQL_CLIENT_SEARCH_WORDS_MINE_PGSQL,
    PM_SQL_CLIENT_SEARCH_BIRTH,
    PM_SQL_CLIENT_SEARCH_EMAIL,
    PM_SQL_CLIENT_SEARCH_CHART,
    PM_SQL_CLIENT_KEYS_MISSING,
    PM_SQL_CLIENT_KEYS_SET_SORT,
    PM_SQL_CLIENT_KEYS_SET_GET,
    PM_SQL_CLIENT_KEYS_SET_DELETE,
    PM_SQL_CLIENT_KEYS_SET_ADD,
    PM_SQL_CLIENT_KEYS_DROP_PREFIXES,
    PM_SQL_CLIENT_KEYS_FORGET_LOCALE,
    PM_SQL_CLIENT_KEYS_ADD,
    PM_SQL_CLIENT_GET_VISIBLE,
    PM_SQL_CLIENT_ACTIVE_FLAG,
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
    PM_SQL_INVITATION_LOCK_ROW,
    PM_SQL_TOKEN_RETIRE,
    PM_SQL_TOKENS_RETIRE_EARLIER,
    PM_SQL_TOKENS_CLEAR_EARLIER,
    PM_SQL_OUTBOX_INSERT,
    PM_SQL_OUTBOX_CANCEL_QUEUED,
    PM_SQL_OUTBOX_INSERT_TEST,
    PM_SQL_ADDRESS_NOTICE_CLIENT,
    PM_SQL_ADDRESS_NOTICE_REP,
    PM_SQL_ADDRESS_NOTICE_CLIENT_DUE,
    PM_SQL_ADDRESS_NOTICE_REP_DUE,
    PM_SQL_OUTBOX_CLAIM,
    PM_SQL_OUTBOX_CLAIM_PGSQL,
    PM_SQL_OUTBOX_PACE_USED,
    PM_SQL_OUTBOX_PACE_USED_PGSQL,
    PM_SQL_OUTBOX_PACE_LOCK,
    PM_SQL_OUTBOX_NEXT_DUE,
    PM_SQL_OUTBOX_DUE_COUNT,
    PM_SQL_OUTBOX_DUE,
    PM_SQL_OUTBOX_HOLD,
    PM_SQL_OUTBOX_HOLD_ONE,
    PM_SQL_OUTBOX_RELEASE,
    PM_SQL_TOKEN_RETIRE_OTHER,
    PM_SQL_INVITATION_SET_TOKEN,
    PM_SQL_INVITATION_COUNT_SEND,
    PM_SQL_INVITATION_UNCOUNT_SEND,
    PM_SQL_OUTBOX_SENT,
    PM_SQL_OUTBOX_FAILED_BEFORE,
    PM_SQL_INVITATION_SENT,
    PM_SQL_OUTBOX_RETRY,
    PM_SQL_OUTBOX_FAILED,
    PM_SQL_OUTBOX_HOLD_WAITING,
    PM_SQL_REP_INSERT,
    PM_SQL_REP_GET_VISIBLE,
    PM_SQL_REP_EMAIL_TAKEN,
    PM_SQL_REP_UPDATE,
    PM_SQL_REP_GRANTS_UPDATE,
    PM_SQL_REP_SUPERSEDE_PENDING,
    PM_SQL_REP_REMOVE,
    PM_SQL_REP_REVOKE_OPEN,
    PM_SQL_REP_END_GRANTS,
    PM_SQL_REP_LOCK_ACCOUNTS,
    PM_SQL_REP_DISABLE_ACCOUNTS,
    PM_SQL_INVITATION_SUPERSEDE_STALE_REP,
    PM_SQL_TOKEN_FIND,
    PM_SQL_TOKEN_SUPERSEDED,
    PM_SQL_VERIFY_RESERVE_INVITATION,
    PM_SQL_VERIFY_RESERVE_CLIENT,
    PM_SQL_VERIFY_RESERVE_RESET,
    PM_SQL_VERIFY_REFUND_INVITATION,
    PM_SQL_VERIFY_REFUND_CLIENT,
    PM_SQL_VERIFY_LOCK_INVITATION,
    PM_SQL_VERIFY_LOCK_CLIENT,
    PM_SQL_VERIFY_RESET_CLIENT,
    PM_SQL_INVITATION_CONSUME,
    PM_SQL_ACCOUNT_INSERT,
    PM_SQL_GRANT_INSERT,
    PM_SQL_ACCOUNT_LOCK_ACTIVE,
    PM_SQL_ACCOUNT_LINKABLE,
    PM_SQL_REVIEW_CANDIDATES,
    PM_SQL_REVIEW_CANDIDATES_PGSQL,
    PM_SQL_GRANT_GET_VISIBLE,
    PM_SQL_GRANT_REVIEW_KEEP,
    PM_SQL_GRANT_REVIEW_END,
    PM_SQL_MAJORITY_CANDIDATES,
    PM_SQL_MAJORITY_CANDIDATES_PGSQL,
    PM_SQL_GRANT_END_MAJORITY,
    PM_SQL_NOTICE_STAFF,
    PM_SQL_NOTICE_LAST_AUDIT,
    PM_SQL_NOTICE_START,
    PM_SQL_NOTICE_EVENTS,
    PM_SQL_NOTICE_ADVANCE,
    PM_SQL_NOTICE_DIGEST,
    PM_SQL_NOTICE_UNDO,
    PM_SQL_NOTICE_PAUSE,
    PM_SQL_SETTINGS_UPSERT,
    PM_SQL_SETTINGS_DELETE,
    PM_SQL_OUTBOX_COUNTS,
    PM_SQL_OUTBOX_COUNTS_PGSQL,
    PM_SQL_OUTBOX_PAGE,
    PM_SQL_OUTBOX_PAGE_CLIENT,
    PM_SQL_OUTBOX_PAGE_FAILED,
    PM_SQL_OUTBOX_PAGE_QUEUED,
    PM_SQL_OUTBOX_PAGE_BOUNCED,
    PM_SQL_OUTBOX_GET,
    PM_SQL_OUTBOX_RETRY_NOW,
    PM_SQL_OUTBOX_CANCEL,
    /* bounces (portal-manager-admin bounce; the invitation operations' check) */
    PM_SQL_BOUNCE_TARGET,
    PM_SQL_BOUNCE_RECORD,
    PM_SQL_ADDRESS_BOUNCED,
    PM_SQL_BOUNCES_CLEAR_CLIENT,
    PM_SQL_BOUNCES_CLEAR_REP,
    PM_SQL_MONITOR_OUTBOX,
    PM_SQL_MONITOR_INVITATIONS,
    PM_SQL_MONITOR_PING,
    PM_SQL_AUDIT_SEARCH,
    PM_SQL_AUDIT_SEARCH_CLIENT,
    PM_SQL_AUDIT_SEARCH_CLIENT_RANGE,
    PM_SQL_AUDIT_SEARCH_RANGE,
    PM_SQL_AUDIT_SEARCH_USER,
    PM_SQL_AUDIT_SEARCH_DENIED,
    PM_SQL_AUDIT_SEARCH_ACTION,
    PM_SQL_AUDIT_ID_SPAN,
    PM_SQL_AUDIT_ROW_FROM_ID,
    PM_SQL_AUDIT_INSERT,
    PM_SQL_AUDIT_CHAIN_HEAD,
    PM_SQL_AUDIT_CHAIN_MOVE_SQLITE,
    PM_SQL_AUDIT_CHAIN_APPEND_PGSQL,
    PM_SQL_AUDIT_CHAIN_APPEND_ASYNC_PGSQL,
    PM_SQL_AUDIT_CHAIN_APPEND_GROUP_PGSQL,
    PM_SQL_AUDIT_CHAIN_APPEND_GROUP_TXN_PGSQL,
    PM_SQL_AUDIT_FLUSH_PGSQL,
    PM_SQL_AUDIT_BY_CLIENT,
    PM_SQL_AUDIT_TEST_EMAILS,
    /* the Overview screen (pm_api_overview.c) */
    PM_SQL_OVERVIEW_FUNNEL,
    PM_SQL_OVERVIEW_DELIVERY,
    PM_SQL_CLIENT_ACTIVE_ACCOUNTS,
    PM_SQL_CLIENT_LOCK_ACCOUNTS,
    PM_SQL_CLIENT_DISABLE_ACCOUNTS,
    PM_SQL_CLIENT_END_SHARED_GRANTS,
    /* portal accounts (pm_op_account.c) */
    PM_SQL_CLIENT_ACCOUNTS,
    PM_SQL_ACCOUNT_GET_VISIBLE,
    PM_SQL_ACCOUNT_ACTIVE_GRANTS,
    PM_SQL_ACCOUNT_DISABLE,
    PM_SQL_ACCOUNT_ENABLE,
    PM_SQL_ACCOUNT_LOCK_ROW,
    PM_SQL_ACCOUNT_OPEN_INVITATION,
    PM_SQL_ACCOUNT_DISABLE_CLIENT_OWN,
    PM_SQL_GRANT_END_STAFF,
    /* password reset (pm_op_account.c, pm_op_recipient.c) */
    PM_SQL_RESET_INSERT,
    PM_SQL_RESET_PENDING,
    PM_SQL_RESET_REARM,
    PM_SQL_RESET_REVOKE_OF_ACCOUNT,
    PM_SQL_ACCOUNT_SET_PASSWORD,
    /* the roster sync (pm_roster.c) */
    PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID,
    PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS_SQLITE,
    PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS_PGSQL,
    PM_SQL_ROSTER_CLIENTS_UNNAMED_SQLITE,
    PM_SQL_ROSTER_CLIENTS_UNNAMED_PGSQL,
    PM_SQL_ROSTER_CLIENTS_NAMED_BORN_SQLITE,
    PM_SQL_ROSTER_CLIENTS_NAMED_BORN_PGSQL,
    PM_SQL_ROSTER_LOCK,
    PM_SQL_ROSTER_TRY_LOCK,
    PM_SQL_ROSTER_ANY_UNNAMED,
    PM_SQL_ROSTER_LAST_CLIENT,
    PM_SQL_ROSTER_CLIENT_INSERT_SQLITE,
    PM_SQL_ROSTER_CLIENTS_INSERT_PGSQL,
    PM_SQL_ROSTER_CLIENT_UPDATE,
    PM_SQL_ROSTER_CLIENT_SET_ROSTER_EMAIL,
    PM_SQL_ROSTER_CLIENT_SET_ACTIVE,
    PM_SQL_ROSTER_NAMED_ACTIVE,
    PM_SQL_ROSTER_REVOKE_REP_PENDING,
    PM_SQL_MODULE_COUNT,          /* the module runs the statements above */

    /* portal-manager-admin only (src/admin/) */
    PM_SQL_ADMIN_TABLE_EXISTS_SQLITE = PM_SQL_MODULE_COUNT,
    PM_SQL_CLIENT_KEYS_STAGE_FOUND_SQLITE,
    PM_SQL_CLIENT_KEYS_STAGE_MAKE_SQLITE,
    PM_SQL_CLIENT_KEYS_STAGE,
    PM_SQL_CLIENT_KEYS_UNSTAGE,
    PM_SQL_CLIENT_KEYS_CLEAR_STAGE,
    PM_SQL_ADMIN_TABLE_EXISTS_PGSQL,
    PM_SQL_ADMIN_AUDIT_CHAIN_STATE,
    PM_SQL_ADMIN_AUDIT_CHAIN_PAGE,
    PM_SQL_ADMIN_AUDIT_CHAIN_PAST_HEAD,
    PM_SQL_ADMIN_AUDIT_UNCHAINED,
    PM_SQL_ADMIN_AUDIT_PREFIX_END,
    PM_SQL_ADMIN_AUDIT_PRE_CHAIN_OLDER,
    PM_SQL_ADMIN_AUDIT_PRUNE_OPEN,
    PM_SQL_ADMIN_AUDIT_PRUNE_DELETE,
    PM_SQL_ADMIN_AUDIT_PRUNE_CLOSE,
    PM_SQL_ADMIN_AUDIT_PRUNE_RECORDS,
    PM_SQL_ADMIN_AUDIT_GUARD_SQLITE,
    PM_SQL_ADMIN_AUDIT_GUARD_PGSQL,
    PM_SQL_ADMIN_SCHEMA_VERSION,
    PM_SQL_ADMIN_SCHEMA_VERSION_SET,
    PM_SQL_ADMIN_STAFF_INSERT,
    PM_SQL_ADMIN_STAFF_UPDATE,
    PM_SQL_ADMIN_STAFF_SET_ACTIVE,
    PM_SQL_ADMIN_STAFF_SET_EMAIL,
    PM_SQL_ADMIN_STAFF_LIST,
    PM_SQL_ADMIN_STAFF_COUNT,
    PM_SQL_ADMIN_DEMO_STAFF_COUNT,
    PM_SQL_ADMIN_GRANT_GET,
    PM_SQL_ADMIN_GRANT_INSERT,
    PM_SQL_ADMIN_GRANT_DELETE,
    PM_SQL_ADMIN_CLIENT_EXISTS,
    PM_SQL_ADMIN_CLIENT_COUNT,
    PM_SQL_ADMIN_CLIENT_INSERT,
    PM_SQL_ADMIN_CLIENT_NAMESAKE,
    PM_SQL_ADMIN_CLIENT_LIST,
    PM_SQL_ADMIN_CLIENT_SET_CHART,
    PM_SQL_ADMIN_CLIENT_HAS_CHART,
    PM_SQL_ADMIN_CASELOAD,
    PM_SQL_ADMIN_STAFF_ANY_CASE,
    /* portal-manager-admin copy (admin_copy.c) */
    PM_COPY_TABLES(PM_COPY_IDS)
    PM_SQL_COPY_SNAPSHOT_BEGIN_SQLITE,
    PM_SQL_COPY_SNAPSHOT_END_SQLITE,
    PM_SQL_COPY_COLUMNS_SQLITE,
    PM_SQL_COPY_COLUMNS_PGSQL,
    PM_SQL_COPY_TABLES_PGSQL,
    PM_SQL_COPY_FOREIGN_KEYS_PGSQL,
    PM_SQL_COPY_IDENTITIES_PGSQL,
    PM_SQL_COPY_SET_IDENTITY_PGSQL,
    PM_SQL_COUNT                  /* keep last */
} pm_sql_id;

/* The end of a Message-ID queued where PortalMailFrom's domain is not known (the
 * roster sync run by portal-manager-admin queues address notices): the delivery worker
 * makes such a row's ID again when it sends it. */
#define PM_OUTBOX_ID_OUTSIDE "@portal-manager.invalid>"

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
