/* fuzz_json — request bodies: pm_json_parse (jansson with duplicate keys refused)
 * on arbitrary bytes, then the pure checks the API applies to body strings
 * (email, name, date of birth, UTF-8) on every string found. The field checks
 * themselves (pm_http_check_fields, the handlers) need a request_rec and are not
 * pure, so they are not fuzzed here. Properties: a parse error has a message; no
 * string holds a NUL that would cut it short when read as a C string. */
#include "fuzz.h"
#include "pm_date.h"
#include "pm_json.h"
#include "pm_text.h"

static void walk(apr_pool_t *p, json_t *j, int depth)
{
    const char *k;
    json_t *v;
    size_t i;

    check(depth < 4096, "nesting is bounded");
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        check(strlen(s) == json_string_length(j), "no NUL inside a string (\\u0000 refused)");
        check(fuzz_utf8_ok((const unsigned char *)s, strlen(s)), "strings are valid UTF-8");
        (void)pm_email_problem(s);
        (void)pm_name_problem(s);
        (void)pm_birth_date_problem(s, apr_time_from_sec(1795000000));
        (void)pm_trim(p, s);
        return;
    }
    if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            check(k != NULL, "object key");
            walk(p, v, depth + 1);
        }
    }
    else if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            walk(p, v, depth + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *error = NULL;
    json_t *j = pm_json_parse(p, (const char *)data, size, &error);

    if (j == NULL) {
        check(error != NULL && *error != '\0', "a parse error has a message");
    }
    else {
        walk(p, j, 0);
    }
    apr_pool_destroy(p);
    return 0;
}
