/* fuzz_config — directive value parsers (pm_config_parse) on arbitrary text: an
 * accepted integer is exactly an optional '-' and digits in range, with the value
 * strtoll gives; accepted URLs carry no blanks or line breaks; an accepted mailbox
 * has a valid address and a display name without quotes, controls or bad UTF-8. */
#include "fuzz.h"
#include "pm_config_parse.h"
#include "pm_text.h"

#include <errno.h>

static void check_int(const char *s)
{
    long long v = 0;
    const char *digits = s[0] == '-' ? s + 1 : s;

    if (pm_parse_int_range(s, -1000, 1000000, &v) != NULL) {
        return;
    }
    check(*digits != '\0' && strspn(digits, "0123456789") == strlen(digits),
          "int: only an optional '-' and digits");
    errno = 0;
    check(strtoll(s, NULL, 10) == v && v >= -1000 && v <= 1000000, "int: value in range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(p, data, size);
    const char *name = NULL, *addr = NULL;
    pm_tls_mode mode;
    int https = -1;

    check_int(s);
    if (pm_parse_web_url(p, s, &https) == NULL) {
        check(strpbrk(s, " \t\r\n") == NULL && (https == 0 || https == 1) && strchr(s, '#') == NULL,
              "web URL: no blanks, no fragment, scheme known");
    }
    if (pm_parse_mail_url(p, s) == NULL) {
        check(strpbrk(s, " \t\r\n") == NULL && strncasecmp(s, "smtp", 4) == 0,
              "mail URL: smtp(s) without blanks");
    }
    if (pm_parse_tls_mode(s, &mode) == NULL) {
        check(mode == PM_TLS_NONE || mode == PM_TLS_TRY || mode == PM_TLS_REQUIRED, "tls mode");
    }
    if (pm_parse_mailbox(p, s, &name, &addr) == NULL) {
        check(addr != NULL && pm_email_problem(addr) == NULL, "mailbox: address is valid");
        check(name != NULL && strchr(name, '"') == NULL && pm_utf8_valid(name, strlen(name), 0),
              "mailbox: display name clean");
        check(strpbrk(s, "\r\n") == NULL, "mailbox: no line breaks");
    }
    apr_pool_destroy(p);
    return 0;
}
