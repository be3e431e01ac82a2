/* tap.h — a minimal TAP producer for the C unit tests (run by automake's TAP
 * driver from `make check`). Each check prints "ok N - name" or "not ok N - name". */
#ifndef PM_TAP_H
#define PM_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count = 0;
static int tap_failed = 0;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tap_count++;
    if (!pass) {
        tap_failed++;
    }
    printf("%s %d - ", pass ? "ok" : "not ok", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        printf("#   failed at %s:%d\n", file, line);
    }
}

/* String equality with a diagnostic showing both sides. */
#define is_str(got, want, ...) do {                                          \
        const char *g_ = (got), *w_ = (want);                                \
        int same_ = (g_ == NULL && w_ == NULL)                               \
                    || (g_ && w_ && strcmp(g_, w_) == 0);                    \
        ok(same_, __VA_ARGS__);                                              \
        if (!same_) {                                                        \
            printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)",   \
                   w_ ? w_ : "(null)");                                      \
        }                                                                    \
    } while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
