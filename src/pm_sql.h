/* pm_sql.h — every SQL statement the module runs, by id. Each is prepared through
 * mod_dbd at startup under its label; the same text serves sqlite3 and pgsql. */
#ifndef PM_SQL_H
#define PM_SQL_H

typedef enum {
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
    PM_SQL_AUDIT_INSERT,
    PM_SQL_AUDIT_BY_CLIENT,
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
