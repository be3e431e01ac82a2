/* bench/print-sql.c — prints the module's statement table (src/pm_sql.c), one
 * statement a line: label TAB sql. bench/plans uses it to EXPLAIN the real SQL. */
#include "pm_sql.h"

#include <stdio.h>

int main(void)
{
    int i;

    pm_sql_init();
    for (i = 0; i < PM_SQL_COUNT; i++) {
        const pm_sql_stmt *st = pm_sql_get((pm_sql_id)i);
        printf("%s\t%s\n", st->label, st->sql);
    }
    return 0;
}
