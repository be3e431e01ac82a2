/* pm_rate.h — request rate limiting, the pure part: one GCRA cell ("N requests per
 * window, then one every window/N") and a fixed-size hash table of cells in a block
 * of memory the caller provides (shared memory in the module, malloc in the tests).
 * No locking here: the caller serialises pm_rate_table_hit. */
#ifndef PM_RATE_H
#define PM_RATE_H

#include <apr_time.h>

#define PM_RATE_KEY_LEN 32       /* keys are fixed-size byte strings (e.g. a digest) */
#define PM_RATE_PROBE   16       /* cells looked at for one key before evicting */

typedef struct pm_rate_table pm_rate_table;

/* One cell: a "theoretical arrival time". 0 or a time in the past means the cell
 * holds no debt: it is free, and the key it names starts over. */
typedef struct {
    apr_time_t tat;
    unsigned char key[PM_RATE_KEY_LEN];
} pm_rate_cell;

/* Takes one request from a cell allowing `limit` requests per `window`. Returns 1
 * (allowed, *tat advanced) or 0 (refused, *tat unchanged, *retry set to how long
 * until one more request is allowed). limit <= 0 or window <= 0 allows everything. */
int pm_rate_take(apr_time_t *tat, apr_time_t now, long limit, apr_interval_time_t window,
                 apr_interval_time_t *retry);

/* Bytes a table of `cells` cells needs. */
apr_size_t pm_rate_table_bytes(apr_uint32_t cells);

/* Formats `bytes` bytes of memory (at least pm_rate_table_bytes(cells)) as an empty
 * table; NULL if the block is too small or cells is 0. */
pm_rate_table *pm_rate_table_init(void *mem, apr_size_t bytes, apr_uint32_t cells);

/* pm_rate_take on the cell of `key` (PM_RATE_KEY_LEN bytes). A key not in the table
 * takes a free cell among PM_RATE_PROBE; if none is free, the cell closest to free is
 * reused (counted in pm_rate_table_evictions). */
int pm_rate_table_hit(pm_rate_table *t, const unsigned char *key, apr_time_t now,
                      long limit, apr_interval_time_t window, apr_interval_time_t *retry);

apr_uint64_t pm_rate_table_evictions(const pm_rate_table *t);

/* A retry delay as whole seconds for Retry-After: rounded up, at least 1. */
long pm_rate_retry_seconds(apr_interval_time_t retry);

#endif
