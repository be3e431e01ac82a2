/* pm_rate.c — the pure rate-limit logic: the GCRA step of one cell and a fixed-size,
 * open-addressed table of cells in caller-provided memory. Cells age out by
 * themselves: one whose time has passed is free again. See pm_rate.h. */
#include "pm_rate.h"

#include <string.h>

struct pm_rate_table {
    apr_uint32_t cells;
    apr_uint32_t unused;
    apr_uint64_t evictions;
    pm_rate_cell cell[1];
};

int pm_rate_take(apr_time_t *tat, apr_time_t now, long limit, apr_interval_time_t window,
                 apr_interval_time_t *retry)
{
    apr_interval_time_t step, burst;
    apr_time_t t;

    if (limit <= 0 || window <= 0) {
        return 1;
    }
    step = window / limit > 0 ? window / limit : 1;    /* one request's share */
    burst = window - step;                              /* debt allowed ahead of now */
    t = *tat > now ? *tat : now;
    if (t - now > burst) {
        *retry = t - now - burst;
        return 0;
    }
    *tat = t + step;
    return 1;
}

apr_size_t pm_rate_table_bytes(apr_uint32_t cells)
{
    return APR_OFFSETOF(pm_rate_table, cell) + (apr_size_t)cells * sizeof(pm_rate_cell);
}

pm_rate_table *pm_rate_table_init(void *mem, apr_size_t bytes, apr_uint32_t cells)
{
    pm_rate_table *t = mem;

    if (mem == NULL || cells == 0 || bytes < pm_rate_table_bytes(cells)) {
        return NULL;
    }
    memset(mem, 0, pm_rate_table_bytes(cells));
    t->cells = cells;
    return t;
}

/* FNV-1a: the keys are digests already, this only spreads them over the cells. */
static apr_uint32_t key_slot(const unsigned char *key, apr_uint32_t cells)
{
    apr_uint32_t h = 2166136261u;
    int i;

    for (i = 0; i < PM_RATE_KEY_LEN; i++) {
        h = (h ^ key[i]) * 16777619u;
    }
    return h % cells;
}

/* The key's own cell, else the first free one, else the one closest to free. */
static pm_rate_cell *find_cell(pm_rate_table *t, const unsigned char *key, apr_time_t now)
{
    apr_uint32_t start = key_slot(key, t->cells);
    pm_rate_cell *free_cell = NULL, *oldest = NULL;
    apr_uint32_t i, probe = t->cells < PM_RATE_PROBE ? t->cells : PM_RATE_PROBE;

    for (i = 0; i < probe; i++) {
        pm_rate_cell *c = &t->cell[(start + i) % t->cells];
        if (c->tat > now) {
            if (memcmp(c->key, key, PM_RATE_KEY_LEN) == 0) {
                return c;
            }
            if (oldest == NULL || c->tat < oldest->tat) {
                oldest = c;
            }
        }
        else if (free_cell == NULL) {
            free_cell = c;
        }
    }
    if (free_cell == NULL) {
        free_cell = oldest;
        t->evictions++;
    }
    memcpy(free_cell->key, key, PM_RATE_KEY_LEN);
    free_cell->tat = 0;
    return free_cell;
}

int pm_rate_table_hit(pm_rate_table *t, const unsigned char *key, apr_time_t now,
                      long limit, apr_interval_time_t window, apr_interval_time_t *retry)
{
    if (limit <= 0 || window <= 0) {
        return 1;
    }
    return pm_rate_take(&find_cell(t, key, now)->tat, now, limit, window, retry);
}

apr_uint64_t pm_rate_table_evictions(const pm_rate_table *t)
{
    return t->evictions;
}

long pm_rate_retry_seconds(apr_interval_time_t retry)
{
    long s = (long)((retry + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);

    return s < 1 ? 1 : s;
}
