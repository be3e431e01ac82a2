/* bench/print-sql.c — prints the module's statement table (src/core/pm_sql.c), one
 * statement a line: label TAB driver (empty: both) TAB sql; then, for each word of the arguments, its ICU
 * lookup key (src/core/pm_collate.c) as "#key TAB word TAB key", and with the next
 * word, their pair key as "#pair TAB word next TAB key". bench/plans
 * uses it to EXPLAIN the real SQL with the keys the module would bind. */
#include "pm_collate.h"
#include "pm_sql.h"

#include <apr_general.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    apr_pool_t *p;
    pm_collator *m;
    int i;

    pm_sql_init();
    for (i = 0; i < PM_SQL_COUNT; i++) {
        const pm_sql_stmt *st = pm_sql_get((pm_sql_id)i);
        printf("%s\t%s\t%s\n", st->label, st->driver ? st->driver : "", st->sql);
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    m = pm_collate_match(p);
    for (i = 1; m && i < argc; i++) {
        printf("#key\t%s\t%s\n", argv[i], pm_collate_query_key(m, p, argv[i]));
        if (i + 1 < argc) {         /* this word looked up with the next one's initial */
            printf("#pair\t%s %s\t%s\n", argv[i], argv[i + 1],
                   pm_collate_pair_key(m, p, argv[i], argv[i + 1]));
        }
    }
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
