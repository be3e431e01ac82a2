/* Unit tests for the directive value parsers (src/core/pm_config_parse.c). */
#include "pm_config_parse.h"
#include "tap.h"

#include <apr_general.h>
#include <string.h>

static void test_web_urls(apr_pool_t *p)
{
    int https = -1;

    ok(pm_parse_web_url(p, "https://portal.example.org/portal/invitation/", &https) == NULL
       && https == 1, "https URL accepted");
    ok(pm_parse_web_url(p, "http://127.0.0.1:8080/portal/invitation/", &https) == NULL
       && https == 0, "http URL accepted and marked insecure");
    ok(pm_parse_web_url(p, "portal.example.org/invite", &https) != NULL, "no scheme refused");
    ok(pm_parse_web_url(p, "ftp://example.org/", &https) != NULL, "ftp refused");
    ok(pm_parse_web_url(p, "https:///path", &https) != NULL, "no host refused");
    ok(pm_parse_web_url(p, "https://example.org/a#t=x", &https) != NULL, "fragment refused");
    ok(pm_parse_web_url(p, "https://user:pw@example.org/", &https) != NULL,
       "credentials in URL refused");
    ok(pm_parse_web_url(p, "https://example.org/a b", &https) != NULL, "whitespace refused");
    ok(pm_parse_web_url(p, "", &https) != NULL, "empty refused");
}

static void test_mail_urls(apr_pool_t *p)
{
    int https_unused = 0;

    ok(pm_parse_mail_url(p, "smtp://mail.example.org:587") == NULL, "smtp URL accepted");
    ok(pm_parse_mail_url(p, "smtps://mail.example.org") == NULL, "smtps URL accepted");
    ok(pm_parse_mail_url(p, "SMTP://127.0.0.1:2525") == NULL, "scheme is case-insensitive");
    ok(pm_parse_mail_url(p, "http://mail.example.org") != NULL, "http refused");
    ok(pm_parse_mail_url(p, "smtp://mail.example.org/extra") != NULL, "path refused");
    ok(pm_parse_mail_url(p, "mail.example.org:25") != NULL, "no scheme refused");
    {
        /* the hint names the mail schemes, never the web's https:// (issue 16) */
        const char *no_scheme = pm_parse_mail_url(p, "mail.riverside-counseling.com:587");
        const char *bare = pm_parse_mail_url(p, "mail.riverside-counseling.com");
        const char *web = pm_parse_web_url(p, "portal.riverside-counseling.com:443", &https_unused);

        ok(no_scheme && strstr(no_scheme, "smtp:// or smtps://") && !strstr(no_scheme, "https"),
           "host:port for the mail server: the hint says smtp:// or smtps://");
        ok(bare && strstr(bare, "smtp:// or smtps://") && !strstr(bare, "https"),
           "a bare host for the mail server: the hint says smtp:// or smtps://");
        ok(web && strstr(web, "https://") && !strstr(web, "smtp"),
           "host:port for a web URL: the hint still says https://");
    }
    ok(pm_parse_mail_url(p, "smtp://mail.example.org:99999") != NULL, "port 99999 refused");
    ok(pm_parse_mail_url(p, "smtp://mail.example.org:65536") != NULL, "port 65536 refused");
    ok(pm_parse_mail_url(p, "smtp://mail.example.org:65535") == NULL, "port 65535 accepted");
    ok(pm_parse_mail_url(p, "smtp://mail.example.org:0") != NULL, "port 0 refused");
}

static void test_tls_modes(void)
{
    pm_tls_mode m = PM_TLS_NONE;

    ok(pm_parse_tls_mode("required", &m) == NULL && m == PM_TLS_REQUIRED, "required");
    ok(pm_parse_tls_mode("Try", &m) == NULL && m == PM_TLS_TRY, "try, any case");
    ok(pm_parse_tls_mode("none", &m) == NULL && m == PM_TLS_NONE, "none");
    ok(pm_parse_tls_mode("starttls", &m) != NULL, "unknown mode refused");
}

static void test_helo_names(void)
{
    ok(pm_parse_helo_name("portal.example.org") == NULL, "EHLO: a host name");
    ok(pm_parse_helo_name("mail-1.example.org") == NULL, "EHLO: a hyphen inside a label");
    ok(pm_parse_helo_name("[192.0.2.1]") == NULL, "EHLO: an address literal");
    ok(pm_parse_helo_name("vm") == NULL, "EHLO: a bare name is a host name too");
    ok(pm_parse_helo_name("") != NULL, "EHLO: empty refused");
    ok(pm_parse_helo_name("a..b") != NULL, "EHLO: empty label refused");
    ok(pm_parse_helo_name("-a.b") != NULL, "EHLO: a label starting with '-' refused");
    ok(pm_parse_helo_name("a-.b") != NULL, "EHLO: a label ending in '-' refused");
    ok(pm_parse_helo_name("a.b.") != NULL, "EHLO: a trailing dot refused");
    ok(pm_parse_helo_name("a b") != NULL, "EHLO: a blank refused");
    ok(pm_parse_helo_name("a/b") != NULL, "EHLO: a slash (URL path) refused");
    ok(pm_parse_helo_name("[1.2.3.4") != NULL, "EHLO: an unclosed literal refused");
    ok(pm_parse_helo_name("[999.1.1.1]") != NULL, "EHLO: a literal that is no address refused");
    ok(pm_parse_helo_name("[1.2.3]") != NULL, "EHLO: a short IPv4 literal refused");
    ok(pm_parse_helo_name("[2001:db8::1]") == NULL, "EHLO: an IPv6 literal");
    ok(pm_parse_helo_name("[IPv6:2001:db8::1]") == NULL, "EHLO: an IPv6 literal as RFC 5321 writes it");
    ok(pm_parse_helo_name("[IPv6:1.2.3.4]") != NULL, "EHLO: IPv6: with an IPv4 address refused");
}

static void test_ints(void)
{
    long long v = 0;

    ok(pm_parse_int_range("30", 1, 3600, &v) == NULL && v == 30, "30 in range");
    ok(pm_parse_int_range("-1", 1, 3600, &v) != NULL, "negative refused");
    is_str(pm_parse_int_range("-1", 0, 10, &v), "must not be negative", "negative message");
    ok(pm_parse_int_range("0", 1, 3600, &v) != NULL, "below minimum refused");
    ok(pm_parse_int_range("3601", 1, 3600, &v) != NULL, "above maximum refused");
    ok(pm_parse_int_range("12abc", 1, 3600, &v) != NULL, "trailing text refused");
    ok(pm_parse_int_range("+5", 1, 3600, &v) != NULL, "plus sign refused");
    ok(pm_parse_int_range("99999999999999999999", 1, 3600, &v) != NULL, "overflow refused");
    is_str(pm_parse_int_range("99999999999999999999", 1, 3600, &v), "is too large",
           "overflow: too large, not 'a whole number'");
    is_str(pm_parse_int_range("-99999999999999999999", 1, 3600, &v), "must not be negative",
           "negative overflow: not negative");
    ok(pm_parse_int_range("", 1, 3600, &v) != NULL, "empty refused");
}

static void test_mailboxes(apr_pool_t *p)
{
    const char *name = NULL, *addr = NULL;

    ok(pm_parse_mailbox(p, "Riverside Counseling <no-reply@example.org>", &name, &addr) == NULL,
       "name and address accepted");
    is_str(name, "Riverside Counseling", "display name");
    is_str(addr, "no-reply@example.org", "address");
    ok(pm_parse_mailbox(p, "\"Riverside, LLC\" <a@example.org>", &name, &addr) == NULL,
       "quoted display name accepted");
    is_str(name, "Riverside, LLC", "quotes removed from display name");
    ok(pm_parse_mailbox(p, "plain@example.org", &name, &addr) == NULL, "bare address accepted");
    is_str(name, "", "bare address has empty name");
    ok(pm_parse_mailbox(p, "Zoë Clinic <zoe@example.org>", &name, &addr) == NULL,
       "non-ASCII display name accepted");
    ok(pm_parse_mailbox(p, "Foo <bar>", &name, &addr) != NULL, "address without @ refused");
    ok(pm_parse_mailbox(p, "Foo <a@example.org", &name, &addr) != NULL, "unclosed < refused");
    ok(pm_parse_mailbox(p, "Foo <a@example.org> trailing", &name, &addr) != NULL,
       "text after > refused");
    ok(pm_parse_mailbox(p, "Foo\r\nBcc: x@evil.example <a@example.org>", &name, &addr) != NULL,
       "line break refused");
    ok(pm_parse_mailbox(p, "a@localhost", &name, &addr) != NULL, "undotted domain refused");
    ok(pm_parse_mailbox(p, "", &name, &addr) != NULL, "empty refused");
}

/* strtoll skips leading blanks of every kind: all of them must be refused alike */
static void test_int_blanks(void)
{
    static const char *const blanks[] = { " 42", "\t42", "\n42", "\v42", "\f42", "\r42",
                                          "42 ", "42\t", "42\n", "42\r", " ", "\t", NULL };
    const char *const *b;
    long long v = -7;

    for (b = blanks; *b; b++) {
        v = -7;
        ok(pm_parse_int_range(*b, 0, 100, &v) != NULL && v == -7,
           "whitespace around a number refused (\\x%02x at %s)",
           (unsigned char)((*b)[0] == '4' ? (*b)[2] : (*b)[0]), (*b)[0] == '4' ? "end" : "start");
    }
    ok(pm_parse_int_range("42", 0, 100, &v) == NULL && v == 42, "42 itself accepted");
}

/* the sample configuration's EDIT values are reserved example names (pm_example_host) */
static void test_example_hosts(apr_pool_t *p)
{
    static const char *const examples[] = {
        "https://portal.example.org/portal/invitation/", "smtp://mail.example.org:587",
        "Riverside Counseling <no-reply@example.org>", "no-reply@EXAMPLE.COM",
        "https://example.net./x/", "smtps://mail.practice.example", "a@b.invalid",
        "https://portal.test/", "A <x@y@mail.example.org>", NULL
    };
    static const char *const real[] = {
        "https://portal.riverside.org/portal/invitation/", "smtp://127.0.0.1:2525",
        "smtp://localhost:25", "Riverside <no-reply@riverside-counseling.com>",
        "https://myexample.org/", "https://example.org.riverside.com/",
        "https://portal.testing/", "https://contest/", "no-at-sign", "", NULL
    };
    int i;

    for (i = 0; examples[i]; i++) {
        ok(pm_example_host(p, examples[i]) != NULL, "reserved example name found in %s",
           examples[i]);
    }
    for (i = 0; real[i]; i++) {
        ok(pm_example_host(p, real[i]) == NULL, "not an example name: '%s'", real[i]);
    }
    is_str(pm_example_host(p, "https://Portal.Example.org:8443/x"), "Portal.Example.org",
           "the URL's host is named as written");
    is_str(pm_example_host(p, "Practice <no-reply@example.org>"), "example.org",
           "an address's domain only (never the whole address)");
    ok(pm_example_host(p, NULL) == NULL, "NULL is not an example");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_web_urls(p);
    test_mail_urls(p);
    test_tls_modes();
    test_helo_names();
    test_ints();
    test_int_blanks();
    test_mailboxes(p);
    test_example_hosts(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
