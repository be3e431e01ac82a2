/* Unit tests for UTF-8 checks, name keys and email validation (src/core/pm_text.c). */
#include "pm_text.h"
#include "tap.h"

#include <apr_general.h>

static void test_utf8(void)
{
    ok(pm_utf8_valid("Zoë Núñez", strlen("Zoë Núñez"), 0), "accented name is valid");
    ok(!pm_utf8_valid("a\x01" "b", 3, 0), "control character refused");
    ok(!pm_utf8_valid("a\nb", 3, 0), "newline refused when not allowed");
    ok(pm_utf8_valid("a\nb", 3, 1), "newline allowed when asked");
    ok(!pm_utf8_valid("\xC3\x28", 2, 0), "malformed sequence refused");
    ok(!pm_utf8_valid("\xC0\xAF", 2, 0), "overlong form refused");
    ok(!pm_utf8_valid("\xED\xA0\x80", 3, 0), "surrogate refused");
    ok(!pm_utf8_valid("a\xC2\x85" "b", 4, 0), "C1 control (NEL) refused");
    ok(pm_utf8_length("Zoë") == 3, "code points counted");
}

static void test_emails(void)
{
    char long_local[80], long_total[300];

    ok(pm_email_problem("zoe.nunez@example.org") == NULL, "plain address");
    ok(pm_email_problem("Zoe+Portal@Mail.Example.ORG") == NULL, "mixed case and plus");
    ok(pm_email_problem("a@b.co") == NULL, "short address");
    ok(pm_email_problem("") != NULL, "empty");
    ok(pm_email_problem("no-at.example.org") != NULL, "no @");
    ok(pm_email_problem("a@b@example.org") != NULL, "two @");
    ok(pm_email_problem("@example.org") != NULL, "empty local part");
    ok(pm_email_problem("a b@example.org") != NULL, "space in local part");
    ok(pm_email_problem("\"a\"@example.org") != NULL, "quotes");
    ok(pm_email_problem("a\r\n@example.org") != NULL, "CR LF");
    ok(pm_email_problem("a@localhost") != NULL, "undotted domain");
    ok(pm_email_problem("a@exa_mple.org") != NULL, "underscore in domain");
    ok(pm_email_problem("a@-example.org") != NULL, "label starts with hyphen");
    ok(pm_email_problem("a@example..org") != NULL, "empty label");
    ok(pm_email_problem(".a@example.org") != NULL, "leading dot");
    ok(pm_email_problem("a..b@example.org") != NULL, "double dot");
    memset(long_local, 'a', 65);
    strcpy(long_local + 65, "@example.org");
    ok(pm_email_problem(long_local) != NULL, "65-character local part");
    memset(long_local, 'a', 64);
    strcpy(long_local + 64, "@example.org");
    ok(pm_email_problem(long_local) == NULL, "64-character local part accepted");
    memset(long_total, 'b', sizeof(long_total));
    strcpy(long_total, "a@");
    memset(long_total + 2, 'b', 250);
    long_total[62] = '.';
    long_total[124] = '.';
    long_total[186] = '.';
    long_total[248] = '.';
    strcpy(long_total + 252, "org");
    ok(pm_email_problem(long_total) != NULL, "255-character address refused");
}

static void test_sanitize(apr_pool_t *p)
{
    is_str(pm_utf8_sanitize(p, "Zo\xC3\xAB"), "Zo\xC3\xAB", "sanitize: valid UTF-8 unchanged");
    is_str(pm_utf8_sanitize(p, "a\x80" "b"), "a\xEF\xBF\xBD" "b", "sanitize: stray continuation -> U+FFFD");
    is_str(pm_utf8_sanitize(p, "\xC3\x80\x80"), "\xC3\x80\xEF\xBF\xBD",
           "sanitize: the extra continuation byte only");
    is_str(pm_utf8_sanitize(p, "\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD",
           "sanitize: truncated sequence, one U+FFFD per byte");
    is_str(pm_utf8_sanitize(p, "\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD", "sanitize: overlong refused");
    is_str(pm_utf8_sanitize(p, "\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
           "sanitize: surrogate refused");
    ok(pm_utf8_valid(pm_utf8_sanitize(p, "\xFF\xFE x \xF4\x90\x80\x80"),
                     strlen(pm_utf8_sanitize(p, "\xFF\xFE x \xF4\x90\x80\x80")), 0),
       "sanitize: result is valid UTF-8");
}

static void test_mask_emails(apr_pool_t *p)
{
    is_str(pm_mask_emails(p, "550 5.1.1 <old.address@example.org> ... unknown"),
           "550 5.1.1 <***@example.org> ... unknown", "mask: address in angle brackets");
    is_str(pm_mask_emails(p, "550 zoe.nunez+tag@example.test: Recipient address rejected"),
           "550 ***@example.test: Recipient address rejected", "mask: bare address");
    is_str(pm_mask_emails(p, "to a@b.example, c_d@e.example and f@g"),
           "to ***@b.example, ***@e.example and ***@g", "mask: several addresses");
    is_str(pm_mask_emails(p, "550 \"john doe\"@example.org no"),
           "550 ***@example.org no", "mask: quoted local part");
    is_str(pm_mask_emails(p, "550 Z\xC3\xB6" "e@example.org"), "550 ***@example.org",
           "mask: non-ASCII local part");
    is_str(pm_mask_emails(p, "550 <first.\"last name\"@example.org>"), "550 <***@example.org>",
           "mask: quoted piece after a dot");
    is_str(pm_mask_emails(p, "550 &\"\"@example.org"), "550 ***@example.org",
           "mask: atext before a quoted piece is masked too (fuzz finding)");
    is_str(pm_mask_emails(p, "a@b@c"), "***@***@c", "mask: chained '@'");
    is_str(pm_mask_emails(p, "421 4.3.2 Service shutting down"),
           "421 4.3.2 Service shutting down", "mask: a reply without an address unchanged");
    is_str(pm_mask_emails(p, "@ alone, @@"), "@ alone, @@", "mask: bare '@' unchanged");
    is_str(pm_mask_emails(p, pm_mask_emails(p, "x <a.b@c.example>")), "x <***@c.example>",
           "mask: idempotent");
    is_str(pm_mask_emails(p, ""), "", "mask: empty string");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_utf8();
    test_emails();
    test_sanitize(p);
    test_mask_emails(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
