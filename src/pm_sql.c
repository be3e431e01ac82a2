/* pm_sql.c — the statement table. All SQL lives here so a reviewer can read every
 * query the module can run in one place; nothing else builds SQL text. */
#include "pm_sql.h"

#include <stddef.h>

static pm_sql_stmt statements[PM_SQL_COUNT] = {
    [PM_SQL_STAFF_GET] = { "pm_staff_get",
        "SELECT username, display_name, all_clients, active FROM staff WHERE username = %s" },
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
