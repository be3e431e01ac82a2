/* pool_shim.c — an LD_PRELOAD shim for the sanitizer runs (scripts/lib/sanitize.sh): each
 * apr_palloc/apr_pcalloc gets its own exactly-sized malloc block, so AddressSanitizer sees
 * an overflow that would otherwise stay inside an APR pool block.
 *
 * Preload after the ASan runtime: LD_PRELOAD="libasan.so.8 pool-shim.so". A block is
 * released by a pool cleanup (child cleanup apr_pool_cleanup_null: a forked child that
 * execs must not free the parent's blocks). A pool's memory must stay valid through all of
 * its cleanups (a cleanup registered before an allocation runs after it), so while an
 * apr_pool_destroy/apr_pool_clear runs the cleanups only collect the blocks, and they are
 * freed when the outermost destroy/clear returns. Calls APR makes to itself while the shim
 * runs (apr_pool_cleanup_register allocates its record) go to the real apr_palloc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_pools.h>

typedef void *(*palloc_fn)(apr_pool_t *, apr_size_t);
typedef void (*pool_fn)(apr_pool_t *);

static __thread int in_shim;
static __thread int destroying;        /* depth of apr_pool_destroy/apr_pool_clear */
static __thread void **deferred;       /* blocks released while destroying */
static __thread size_t deferred_n, deferred_max;

static void *real_fn(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);

    if (!fn) {
        fprintf(stderr, "pool-shim: %s not found: %s\n", name, dlerror());
        abort();
    }
    return fn;
}

static palloc_fn real_palloc(void)
{
    static palloc_fn fn;

    if (!fn) {
        fn = (palloc_fn)real_fn("apr_palloc");
    }
    return fn;
}

static void defer_free(void *block)
{
    if (deferred_n == deferred_max) {
        size_t max = deferred_max ? deferred_max * 2 : 256;
        void **grown = realloc(deferred, max * sizeof(*deferred));

        if (!grown) {
            free(block);    /* out of memory: give up the pool semantics for this one */
            return;
        }
        deferred = grown;
        deferred_max = max;
    }
    deferred[deferred_n++] = block;
}

static void flush_deferred(void)
{
    while (deferred_n > 0) {
        free(deferred[--deferred_n]);
    }
}

static apr_status_t release_block(void *block)
{
    if (destroying) {
        defer_free(block);
    }
    else {
        free(block);
    }
    return APR_SUCCESS;
}

static void *shim_alloc(apr_pool_t *pool, apr_size_t size)
{
    void *block;

    if (in_shim) {
        return real_palloc()(pool, size);
    }
    block = malloc(size ? size : 1);
    if (!block) {
        return NULL;
    }
    in_shim = 1;
    /* gcc takes the const void * data argument for a read of the fresh block */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
    apr_pool_cleanup_register(pool, block, release_block, apr_pool_cleanup_null);
#pragma GCC diagnostic pop
    in_shim = 0;
    return block;
}

void *apr_palloc(apr_pool_t *pool, apr_size_t size)
{
    return shim_alloc(pool, size);
}

#undef apr_pcalloc
void *apr_pcalloc(apr_pool_t *pool, apr_size_t size)
{
    void *block = shim_alloc(pool, size);

    if (block) {
        memset(block, 0, size);
    }
    return block;
}

static void run_destroying(const char *name, pool_fn *fn, apr_pool_t *pool)
{
    if (!*fn) {
        *fn = (pool_fn)real_fn(name);
    }
    destroying++;
    (*fn)(pool);
    if (--destroying == 0) {
        flush_deferred();
    }
}

void apr_pool_destroy(apr_pool_t *pool)
{
    static pool_fn fn;

    run_destroying("apr_pool_destroy", &fn, pool);
}

void apr_pool_clear(apr_pool_t *pool)
{
    static pool_fn fn;

    run_destroying("apr_pool_clear", &fn, pool);
}
