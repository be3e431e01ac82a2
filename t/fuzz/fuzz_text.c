/* fuzz_text — pm_text on arbitrary bytes: UTF-8 validation agrees with an
 * independent decoder; sanitizing always gives valid UTF-8 and leaves valid text
 * alone; an accepted email address or name meets its documented rules;
 * masking leaves no local part before any '@' and keeps the text around it. */
#include "fuzz.h"
#include "pm_text.h"
#include "pm_mail_format.h"

static int has_control(const unsigned char *s, size_t len, int allow_newlines)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7F) {
            if (!(allow_newlines && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))) {
                return 1;
            }
        }
        /* C1 controls U+0080..U+009F are C2 80..C2 9F */
        if (s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {
            return 1;
        }
    }
    return 0;
}

static void check_email(const char *s)
{
    const char *at;
    size_t i;

    if (pm_email_problem(s) != NULL) {
        return;
    }
    at = strchr(s, '@');
    check(strlen(s) <= 254 && at != NULL && at > s && at - s <= 64, "email: lengths and one '@'");
    check(strchr(at + 1, '@') == NULL, "email: only one '@'");
    check(strchr(at + 1, '.') != NULL, "email: dotted domain");
    for (i = 0; s[i]; i++) {
        check((unsigned char)s[i] > 0x20 && s[i] != 0x7F && s[i] != '"' && s[i] != '<'
              && s[i] != '>' && s[i] != ',', "email: no blank, control, quote, <, > or ,");
    }
    check(pm_mail_header_safe(s), "email: safe in a header");
}

static int local_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c >= 0x80 || (c != 0 && strchr("!#$%&'+-/=?^_`{|}~.", c) != NULL);
}

static void check_mask(apr_pool_t *p, const char *s)
{
    const char *m = pm_mask_emails(p, s), *a;
    const char *src_at = strrchr(s, '@'), *out_at = strrchr(m, '@');

    for (a = strchr(m, '@'); a; a = strchr(a + 1, '@')) {
        check(a == m || !local_byte((unsigned char)a[-1]), "mask: no local part before an '@'");
    }
    check((src_at == NULL) == (out_at == NULL), "mask: '@' signs kept");
    if (src_at) {
        check(strcmp(src_at, out_at) == 0, "mask: the text after the last '@' is kept");
    }
    else {
        check(strcmp(s, m) == 0, "mask: text without '@' unchanged");
    }
    check(strcmp(pm_mask_emails(p, m), m) == 0, "mask: idempotent");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(p, data, size);
    size_t len = strlen(s);
    int valid = fuzz_utf8_ok((const unsigned char *)data, size);
    char *clean;

    check(pm_utf8_valid((const char *)data, size, 1)
          == (valid && !has_control(data, size, 1)), "utf8_valid (newlines allowed) agrees");
    check(pm_utf8_valid((const char *)data, size, 0)
          == (valid && !has_control(data, size, 0)), "utf8_valid agrees");

    clean = pm_utf8_sanitize(p, s);
    check(fuzz_utf8_ok((const unsigned char *)clean, strlen(clean)), "sanitize: valid UTF-8");
    if (fuzz_utf8_ok((const unsigned char *)s, len)) {
        check(strcmp(clean, s) == 0, "sanitize: valid text unchanged");
        check(pm_utf8_length(s) <= len, "length: code points <= bytes");
    }

    check_email(s);
    if (pm_name_problem(s) == NULL) {
        check(len > 0 && pm_utf8_valid(s, len, 0), "name: valid UTF-8 without controls");
        check(pm_utf8_length(s) <= 100, "name: at most 100 characters");
    }
    {
        char *t = pm_trim(p, s);
        size_t tl = strlen(t);
        check(tl <= len && (tl == 0 || (t[0] != ' ' && t[0] != '\t' && t[tl - 1] != ' '
                                         && t[tl - 1] != '\t')), "trim: no blanks at the ends");
    }
    check_mask(p, s);
    apr_pool_destroy(p);
    return 0;
}
