/* shim_selfcheck.c — proves the pool shim is active (scripts/lib/sanitize.sh runs it under
 * the shim and expects an ASan heap-buffer-overflow report): writes one byte past a pool
 * allocation, which plain ASan cannot see inside an APR pool block. Not a unit test. */
#include <stdio.h>

#include <apr_general.h>
#include <apr_pools.h>

int main(void)
{
    apr_pool_t *pool;
    char *buf;
    volatile size_t len = 10;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    buf = apr_palloc(pool, len);
    buf[len] = 'x';
    printf("pool-shim selfcheck: wrote past a pool allocation, no report\n");
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
