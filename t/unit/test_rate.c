/* Unit tests for the rate-limit cells and table (src/core/pm_rate.c). */
#include "pm_rate.h"
#include "tap.h"

#include <stdlib.h>

#define SEC APR_USEC_PER_SEC

static void key_of(unsigned char *key, unsigned n)
{
    memset(key, 0, PM_RATE_KEY_LEN);
    memcpy(key, &n, sizeof(n));
}

/* how many of `tries` requests at `now` a key gets */
static int burst(pm_rate_table *t, unsigned n, apr_time_t now, long limit,
                 apr_interval_time_t window, int tries, apr_interval_time_t *retry)
{
    unsigned char key[PM_RATE_KEY_LEN];
    int i, allowed = 0;

    key_of(key, n);
    for (i = 0; i < tries; i++) {
        allowed += pm_rate_table_hit(t, key, now, limit, window, retry);
    }
    return allowed;
}

static void test_cell(void)
{
    apr_time_t tat = 0, now = 1000 * SEC;
    apr_interval_time_t retry = 0;
    int i, allowed = 0;

    for (i = 0; i < 10; i++) {
        allowed += pm_rate_take(&tat, now, 3, 60 * SEC, &retry);
    }
    ok(allowed == 3, "3 per minute: a burst of 10 gets 3 (got %d)", allowed);
    ok(retry == 20 * SEC, "the next one is 20 s away (got %lld us)", (long long)retry);
    ok(pm_rate_retry_seconds(retry) == 20, "Retry-After 20");
    ok(!pm_rate_take(&tat, now + 20 * SEC - 1, 3, 60 * SEC, &retry) && retry == 1,
       "1 us early: still refused, 1 us to go");
    ok(pm_rate_retry_seconds(retry) == 1, "Retry-After rounds up to 1 s");
    ok(pm_rate_take(&tat, now + 20 * SEC, 3, 60 * SEC, &retry), "after 20 s: one more");
    ok(!pm_rate_take(&tat, now + 20 * SEC, 3, 60 * SEC, &retry), "and only one");
    ok(pm_rate_take(&tat, now + 200 * SEC, 3, 60 * SEC, &retry)
       && pm_rate_take(&tat, now + 200 * SEC, 3, 60 * SEC, &retry)
       && pm_rate_take(&tat, now + 200 * SEC, 3, 60 * SEC, &retry)
       && !pm_rate_take(&tat, now + 200 * SEC, 3, 60 * SEC, &retry),
       "a quiet window later: the whole burst again, not more");
    tat = 0;
    ok(pm_rate_take(&tat, now, 0, 60 * SEC, &retry) && tat == 0, "limit 0: off");
    ok(pm_rate_take(&tat, now, 1, 60 * SEC, &retry) && !pm_rate_take(&tat, now, 1, 60 * SEC, &retry)
       && retry == 60 * SEC, "limit 1: one, then a whole window");
}

static void test_table(void)
{
    apr_uint32_t cells = 64;
    apr_size_t bytes = pm_rate_table_bytes(cells);
    void *mem = malloc(bytes);
    pm_rate_table *t;
    apr_time_t now = 5000 * SEC;
    apr_interval_time_t retry = 0;
    unsigned n;
    int got;

    ok(pm_rate_table_init(mem, bytes - 1, cells) == NULL, "a block too small is refused");
    t = pm_rate_table_init(mem, bytes, cells);
    ok(t != NULL, "table of 64 cells");
    got = burst(t, 1, now, 5, 10 * SEC, 8, &retry);
    ok(got == 5, "key 1: 5 of 8 (got %d)", got);
    ok(pm_rate_retry_seconds(retry) == 2, "key 1: retry in 2 s");
    got = burst(t, 2, now, 5, 10 * SEC, 8, &retry);
    ok(got == 5, "key 2 is counted apart: 5 of 8 (got %d)", got);
    got = burst(t, 1, now + 2 * SEC, 5, 10 * SEC, 3, &retry);
    ok(got == 1, "key 1 two seconds later: one more (got %d)", got);
    got = burst(t, 1, now + 100 * SEC, 5, 10 * SEC, 8, &retry);
    ok(got == 5, "key 1 after its window: a full burst again (got %d)", got);
    ok(pm_rate_table_evictions(t) == 0, "no evictions so far");

    /* more live keys than cells: the table never refuses a new key; it forgets the
     * one closest to free */
    for (n = 100; n < 100 + 2 * cells; n++) {
        burst(t, n, now + 200 * SEC, 5, 10 * SEC, 5, &retry);
    }
    ok(pm_rate_table_evictions(t) >= cells, "a full table evicts (%llu)",
       (unsigned long long)pm_rate_table_evictions(t));
    got = burst(t, 100 + 2 * cells - 1, now + 200 * SEC, 5, 10 * SEC, 1, &retry);
    ok(got == 0, "the newest key is still limited");

    /* every cell aged out: a later burst from the same keys starts over, no eviction */
    {
        apr_uint64_t before = pm_rate_table_evictions(t);
        for (n = 100; n < 100 + cells; n++) {
            burst(t, n, now + 300 * SEC, 5, 10 * SEC, 1, &retry);
        }
        ok(pm_rate_table_evictions(t) == before, "aged-out cells are reused, not evicted");
    }
    ok(pm_rate_table_hit(t, (const unsigned char *)"0123456789abcdef0123456789abcdef",
                         now, 0, 10 * SEC, &retry), "limit 0 allows");
    free(mem);
}

int main(void)
{
    test_cell();
    test_table();
    return done_testing();
}
