/* fuzz.h — what every libFuzzer harness in t/fuzz/ shares: one APR pool per input,
 * a NUL-terminated copy of the input, and check() that aborts (a finding) with the
 * property that failed. Harnesses only call libpmcore; they never link httpd. */
#ifndef PM_FUZZ_H
#define PM_FUZZ_H

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static apr_pool_t *fuzz_root;

/* A fresh pool for one input (APR is initialised on the first call). */
static inline apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p;

    if (fuzz_root == NULL) {
        apr_initialize();
        apr_pool_create(&fuzz_root, NULL);
    }
    apr_pool_create(&p, fuzz_root);
    return p;
}

/* data[0..size) as a C string (stops at the first NUL, like every caller's strings). */
static inline char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}

#define check(cond, what) do {                                                      \
        if (!(cond)) {                                                             \
            fprintf(stderr, "PROPERTY FAILED at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                    what, #cond);                                                  \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* Independent UTF-8 check (no overlongs, surrogates or code points past U+10FFFF). */
static inline int fuzz_utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n, k;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        }
        else {
            return 0;
        }
        if (i + n >= len) {             /* truncated sequence */
            return 0;
        }
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF
            || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

#endif
