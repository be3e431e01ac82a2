/* bench/keys-cost.c — what the name keys of a roster cost with no database at all:
 * the list's sort key and every search key (pm_collate.c) of each client, for the
 * names read from stdin (one "first<TAB>last" per line), as `clients sync` computes
 * them. Prints clients, seconds, search-key rows and the bytes of key text those rows
 * carry (each row: its prefix key and a copy of the client's sort key). A floor for
 * issue 13's first load: bench/roster runs it on its own file. */
#include "pm_collate.h"

#include <apr_general.h>
#include <apr_time.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    apr_pool_t *p, *scratch;
    pm_collator *match, *sorter;
    char line[1024];
    long clients = 0, rows = 0;
    double bytes = 0;
    apr_time_t spent = 0;

    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_pool_create(&scratch, p);
    match = pm_collate_match(p);
    sorter = pm_collate_sorter(p, PM_COLLATE_DEFAULT_LOCALE);
    if (match == NULL || sorter == NULL) {
        fprintf(stderr, "keys-cost: ICU collators unavailable\n");
        return 1;
    }
    while (fgets(line, sizeof(line), stdin)) {
        char *first = line, *last = strchr(line, '\t');
        const char *sort_key;
        apr_array_header_t *keys;
        apr_time_t t0;
        int i;

        if (last == NULL) {
            continue;
        }
        *last++ = '\0';
        last[strcspn(last, "\r\n")] = '\0';
        t0 = apr_time_now();
        sort_key = pm_collate_sort_key(sorter, first, last);
        keys = pm_collate_name_prefix_keys(match, scratch, first, last);
        spent += apr_time_now() - t0;
        clients++;
        rows += keys->nelts;
        for (i = 0; i < keys->nelts; i++) {
            bytes += strlen(APR_ARRAY_IDX(keys, i, const char *)) + strlen(sort_key);
        }
        if (clients % 1000 == 0) {
            apr_pool_clear(scratch);
        }
    }
    printf("%ld clients, %.3f s, %ld search-key rows, %.0f bytes of key text\n", clients,
           (double)spent / APR_USEC_PER_SEC, rows, bytes);
    return 0;
}
