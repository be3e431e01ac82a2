/* Unit tests for bounces (src/core/pm_bounce.c): the VERP envelope sender and its MAC,
 * and the reading of real-shaped returned messages (the .eml files in t/unit/bounces). */
#include "pm_bounce.h"
#include "tap.h"

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN (sizeof(secret) - 1)
#define BOUNCE "bounces@practice.test"

static const char *fixture(apr_pool_t *p, const char *name, apr_size_t *len)
{
    const char *dir = getenv("srcdir");
    const char *path = apr_pstrcat(p, dir ? dir : ".", "/t/unit/bounces/", name, NULL);
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;

    if (apr_file_open(&f, path, APR_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return NULL;
    }
    buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    *len = (apr_size_t)fi.size;
    if (apr_file_read_full(f, buf, *len, NULL) != APR_SUCCESS) {
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

static void test_address(apr_pool_t *p)
{
    const char *a = pm_bounce_sender(p, secret, SECRET_LEN, BOUNCE, 42);
    long long id = 0;
    char *forged, *upper;
    apr_size_t i;

    ok(a != NULL && strncmp(a, "bounces+42-", 11) == 0
       && strlen(a) == strlen("bounces+42-@practice.test") + PM_BOUNCE_MAC_HEX,
       "sender is local+ID-MAC@domain (%s)", a ? a : "NULL");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE, a, &id) == PM_VERP_OK && id == 42,
       "its own address names row 42");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE, apr_pstrcat(p, "<", a, ">", NULL), &id)
       == PM_VERP_OK, "angle brackets are fine");
    upper = apr_pstrdup(p, a);
    for (i = 0; upper[i]; i++) {
        upper[i] = (char)apr_toupper(upper[i]);
    }
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE, upper, &id) == PM_VERP_OK,
       "an MTA that upper-cases the local part still matches");
    forged = apr_pstrdup(p, a);
    forged[9] = '3';                     /* bounces+43-<the MAC of 42> */
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE, forged, &id) == PM_VERP_BAD_MAC,
       "another id with 42's MAC is forged");
    ok(pm_bounce_verp_id((const unsigned char *)"another secret of 32 characters!", 32, BOUNCE,
                         a, &id) == PM_VERP_BAD_MAC, "a MAC under another secret is forged");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE, "bounces@practice.test", &id)
       == PM_VERP_NOT_OURS, "the bare bounce address names no row");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE, "bounces+42-abc@practice.test", &id)
       == PM_VERP_NOT_OURS, "a short MAC is not ours");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE,
                         apr_pstrcat(p, "bounces+042-", strchr(a, '-') + 1, NULL), &id)
       == PM_VERP_NOT_OURS, "a leading zero is not ours");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE,
                         apr_pstrcat(p, "bounces+42-", strchr(a, '-') + 1, ".evil", NULL), &id)
       == PM_VERP_NOT_OURS, "another domain is not ours");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, BOUNCE,
                         apr_pstrcat(p, "other+42-", strchr(a, '-') + 1, NULL), &id)
       == PM_VERP_NOT_OURS, "another local part is not ours");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, NULL, a, &id) == PM_VERP_OK && id == 42,
       "without the bounce address: the extension after the last +");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, NULL,
                         apr_pstrcat(p, "x+y+", strchr(a, '+') + 1, NULL), &id) == PM_VERP_OK,
       "a local part with a + of its own");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, NULL, forged, &id) == PM_VERP_BAD_MAC,
       "forged, without the bounce address too");
    ok(pm_bounce_verp_id(secret, SECRET_LEN, NULL, "someone@clients.test", &id)
       == PM_VERP_NOT_OURS, "no extension: not ours");
    ok(pm_bounce_sender(p, NULL, 0, BOUNCE, 42) == NULL, "no secret, no sender");
    ok(pm_bounce_sender(p, secret, SECRET_LEN, "bounces", 42) == NULL, "no domain, no sender");
}

static void read_fixture(apr_pool_t *p, const char *name, pm_bounce_report *r)
{
    apr_size_t len = 0;
    const char *msg = fixture(p, name, &len);

    ok(msg != NULL, "fixture %s read", name);
    pm_bounce_read(p, msg ? msg : "", len, r);
}

static void test_reports(apr_pool_t *p)
{
    pm_bounce_report r;

    read_fixture(p, "postfix-hard.eml", &r);
    ok(r.kind == PM_BOUNCE_HARD, "Postfix DSN, Action failed, 5.1.1: hard");
    is_str(r.status, "5.1.1", "its status");
    is_str(r.reason, "550 5.1.1 <***@clients.test>: Recipient address rejected: User unknown "
                     "in virtual mailbox table", "the diagnostic, unfolded, address masked");
    read_fixture(p, "postfix-delayed.eml", &r);
    ok(r.kind == PM_BOUNCE_SOFT, "Action delayed, 4.4.1: soft");
    is_str(r.status, "4.4.1", "its status");
    read_fixture(p, "postfix-full.eml", &r);
    ok(r.kind == PM_BOUNCE_SOFT, "5.2.2 mailbox full: soft");
    read_fixture(p, "plain-hard.eml", &r);
    ok(r.kind == PM_BOUNCE_HARD, "qmail's plain failure notice with 550: hard");
    is_str(r.status, "550", "the reply code");
    is_str(r.reason, "Remote host said: 550 No such user here", "the line that says it");
    read_fixture(p, "plain-nocode.eml", &r);
    ok(r.kind == PM_BOUNCE_SOFT, "a bounce without any code is only noted");
    read_fixture(p, "autoreply.eml", &r);
    ok(r.kind == PM_BOUNCE_AUTOREPLY, "an out-of-office reply");
    read_fixture(p, "ordinary.eml", &r);
    ok(r.kind == PM_BOUNCE_NONE, "a person's message is not a bounce");
    pm_bounce_read(p, "", 0, &r);
    ok(r.kind == PM_BOUNCE_NONE, "an empty message is nothing");
    pm_bounce_read(p, "Subject: x", 10, &r);
    ok(r.kind == PM_BOUNCE_NONE, "headers only, no newline");
}

static void test_reason_limits(apr_pool_t *p)
{
    char *big = apr_palloc(p, 2000);
    const char *msg;
    pm_bounce_report r;
    int i;

    for (i = 0; i < 1999; i++) {   /* words: one run of 1,999 would be masked as a token */
        big[i] = i % 8 == 7 ? ' ' : 'x';
    }
    big[1999] = '\0';
    msg = apr_pstrcat(p, "From: MAILER-DAEMON@x.test\nSubject: Undelivered Mail\n\n550 5.1.1 ",
                      big, "\n", NULL);
    pm_bounce_read(p, msg, strlen(msg), &r);
    ok(r.kind == PM_BOUNCE_HARD && r.reason && strlen(r.reason) == PM_BOUNCE_REASON_MAX,
       "the reason is cut at %d characters", PM_BOUNCE_REASON_MAX);
    msg = "From: MAILER-DAEMON@x.test\nSubject: Undelivered\n\n550 5.1.1 caf\xc3\xa9 \x01\x7f "
          "bad \xff byte\n";
    pm_bounce_read(p, msg, strlen(msg), &r);
    is_str(r.reason, "550 5.1.1 caf\xc3\xa9 bad \xef\xbf\xbd byte",
           "controls become spaces, a bad byte U+FFFD");
    is_str(pm_bounce_header(p, "X-Original-To: a@b.test\r\nSubject: s\r\n\r\nX-Original-To: no\r\n",
                            60, "x-original-to"), "a@b.test", "a top header, any case, CRLF");
    ok(pm_bounce_header(p, "Subject: s\n\nX-Original-To: no\n", 31, "X-Original-To") == NULL,
       "a body line is not a header");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_address(p);
    test_reports(p);
    test_reason_limits(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
