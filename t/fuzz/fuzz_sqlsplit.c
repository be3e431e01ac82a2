/* fuzz_sqlsplit — the SQL splitter (pm_sqlsplit) over arbitrary bytes: a script
 * with a NUL is refused; otherwise each statement is non-empty, starts and ends
 * on non-blank text, occurs in the script on the line it claims, and the
 * statements appear in order without overlapping. */
#include "fuzz.h"
#include "pm_sqlsplit.h"

static unsigned int line_of(const char *s, size_t off)
{
    unsigned int line = 1;
    size_t i;

    for (i = 0; i < off; i++) {
        line += s[i] == '\n';
    }
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *script = apr_pmemdup(p, data, size ? size : 1);
    apr_array_header_t *st = NULL;
    const char *error = NULL;
    size_t from = 0;
    int i;

    if (pm_sql_split(p, script, size, &st, &error) != APR_SUCCESS) {
        check(error != NULL && strncmp(error, "line ", 5) == 0, "an error names its line");
        apr_pool_destroy(p);
        return 0;
    }
    check(memchr(script, '\0', size) == NULL, "a NUL byte is never accepted");
    check(error == NULL && st != NULL, "success has statements and no error");
    for (i = 0; i < st->nelts; i++) {
        const pm_script_statement *s = &APR_ARRAY_IDX(st, i, pm_script_statement);
        size_t n = strlen(s->sql);
        const char *at = NULL;
        size_t k;
        check(n > 0, "no empty statement");
        check(strchr(" \t\r\n", s->sql[0]) == NULL && strchr(" \t\r\n", s->sql[n - 1]) == NULL,
              "statements are trimmed");
        for (k = from; k + n <= size; k++) {       /* the same text may sit in a comment */
            if (memcmp(script + k, s->sql, n) == 0 && line_of(script, k) == s->line) {
                at = script + k;
                break;
            }
        }
        check(at != NULL, "the statement is a piece of the script on its line, after the "
              "previous one");
        from = (size_t)(at - script) + n;
    }
    apr_pool_destroy(p);
    return 0;
}
