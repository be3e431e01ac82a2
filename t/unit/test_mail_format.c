/* Unit tests for the message builder's text (src/core/pm_mail_format.c) and invitation tokens
 * (src/core/pm_token.c): RFC 2047 encoded-words (decoded here and compared with the input),
 * header folding (no line over 78, CRLF SP continuation), mailbox headers, dates,
 * HTML escaping, {{placeholder}} templates, and the token / SHA-256 contract. */
#include "pm_base64.h"
#include "pm_mail_format.h"
#include "pm_token.h"
#include "tap.h"

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <ctype.h>
#include <math.h>
#include <unistd.h>

/* ---- a small RFC 5322 / RFC 2047 reader, independent of the code under test ------- */

/* Lines of a header field (split on CRLF); *bad_eol set when a lone CR or LF appears. */
static apr_array_header_t *header_lines(apr_pool_t *p, const char *h, int *bad_eol)
{
    apr_array_header_t *lines = apr_array_make(p, 4, sizeof(const char *));
    const char *s = h, *e;

    *bad_eol = 0;
    while ((e = strstr(s, "\r\n")) != NULL) {
        APR_ARRAY_PUSH(lines, const char *) = apr_pstrmemdup(p, s, (apr_size_t)(e - s));
        s = e + 2;
    }
    APR_ARRAY_PUSH(lines, const char *) = apr_pstrdup(p, s);
    for (s = h; *s; s++) {
        if ((*s == '\r' && s[1] != '\n') || (*s == '\n' && (s == h || s[-1] != '\r'))) {
            *bad_eol = 1;
        }
    }
    return lines;
}

/* Every line <= 78 octets, continuation lines start with SP or HTAB, no empty line,
 * no bare CR/LF. Returns NULL or what is wrong. */
static const char *fold_problem(apr_pool_t *p, const char *h)
{
    int bad_eol, i;
    apr_array_header_t *lines = header_lines(p, h, &bad_eol);

    if (bad_eol) {
        return "a CR or LF outside CRLF";
    }
    for (i = 0; i < lines->nelts; i++) {
        const char *l = APR_ARRAY_IDX(lines, i, const char *);
        if (strlen(l) > 78) {
            return apr_psprintf(p, "line %d has %d characters", i + 1, (int)strlen(l));
        }
        if (i > 0 && l[0] != ' ' && l[0] != '\t') {
            return apr_psprintf(p, "continuation line %d does not start with WSP", i + 1);
        }
        if (i > 0 && strspn(l, " \t") == strlen(l)) {
            return apr_psprintf(p, "continuation line %d is only whitespace", i + 1);
        }
    }
    return NULL;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10
         : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Decode one encoded-word "=?charset?B|Q?text?=" (charset must be UTF-8); NULL if not one. */
static char *decode_word(apr_pool_t *p, const char *w, apr_size_t len)
{
    const char *q1, *q2, *text;
    apr_size_t tlen;
    char enc;

    if (len < 8 || strncmp(w, "=?", 2) != 0 || strncmp(w + len - 2, "?=", 2) != 0) {
        return NULL;
    }
    q1 = memchr(w + 2, '?', len - 4);
    if (q1 == NULL || q1 + 3 > w + len - 2 || q1[2] != '?') {
        return NULL;
    }
    if (strncasecmp(w + 2, "UTF-8", (apr_size_t)(q1 - w - 2)) != 0 || q1 - w - 2 != 5) {
        return NULL;
    }
    enc = (char)toupper((unsigned char)q1[1]);
    text = q1 + 3;
    q2 = w + len - 2;
    tlen = (apr_size_t)(q2 - text);
    if (memchr(text, '?', tlen) != NULL || memchr(text, ' ', tlen) != NULL) {
        return NULL;
    }
    if (enc == 'B') {
        char *in = apr_pstrmemdup(p, text, tlen), *out;
        int n;
        out = apr_palloc(p, (apr_size_t)apr_base64_decode_len(in) + 1);
        n = apr_base64_decode(out, in);
        out[n] = '\0';
        return out;
    }
    if (enc == 'Q') {
        char *out = apr_palloc(p, tlen + 1), *o = out;
        apr_size_t i;
        for (i = 0; i < tlen; i++) {
            if (text[i] == '_') {
                *o++ = ' ';
            }
            else if (text[i] == '=' && i + 2 < tlen && hexval(text[i + 1]) >= 0
                     && hexval(text[i + 2]) >= 0) {
                *o++ = (char)(hexval(text[i + 1]) * 16 + hexval(text[i + 2]));
                i += 2;
            }
            else {
                *o++ = text[i];
            }
        }
        *o = '\0';
        return out;
    }
    return NULL;
}

/* Valid UTF-8 (no overlongs, no surrogates, no truncated sequence)? */
static int utf8_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u) {
        int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2
              : (*u & 0xF8) == 0xF0 ? 3 : -1;
        int i;
        if (n < 0 || (n == 1 && *u < 0xC2)) {
            return 0;
        }
        for (i = 1; i <= n; i++) {
            if ((u[i] & 0xC0) != 0x80) {
                return 0;
            }
        }
        u += n + 1;
    }
    return 1;
}

/* The unstructured value of "Name: ..." as a reader sees it: unfold (drop CRLF before
 * WSP), split into words at whitespace, decode encoded-words; whitespace between two
 * adjacent encoded-words disappears (RFC 2047 §6.2), other whitespace runs are kept.
 * *words_ok = 0 when an encoded-word does not hold whole UTF-8 characters. */
static char *decode_unstructured(apr_pool_t *p, const char *header, const char *name,
                                 int *words_ok)
{
    apr_size_t nlen = strlen(name);
    char *unfolded = apr_palloc(p, strlen(header) + 1), *o = unfolded;
    const char *s;
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    int prev_encoded = 0;
    const char *pending_ws = "";

    *words_ok = 1;
    if (strncmp(header, name, nlen) != 0 || header[nlen] != ':') {
        return NULL;
    }
    for (s = header + nlen + 1; *s; s++) {
        if (s[0] == '\r' && s[1] == '\n') {
            s++;
            continue;
        }
        *o++ = *s;
    }
    *o = '\0';
    s = unfolded;
    if (*s == ' ') {
        s++;                             /* the one space after "Name:" */
    }
    while (*s) {
        apr_size_t ws = strspn(s, " \t"), wl;
        const char *w = s + ws;
        char *dec;
        if (*w == '\0') {
            APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, s, ws);
            break;
        }
        wl = strcspn(w, " \t");
        dec = decode_word(p, w, wl);
        pending_ws = apr_pstrmemdup(p, s, ws);
        if (dec) {
            if (!utf8_ok(dec)) {
                *words_ok = 0;
            }
            if (!prev_encoded) {
                APR_ARRAY_PUSH(out, const char *) = pending_ws;
            }
            APR_ARRAY_PUSH(out, const char *) = dec;
            prev_encoded = 1;
        }
        else {
            APR_ARRAY_PUSH(out, const char *) = pending_ws;
            APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, w, wl);
            prev_encoded = 0;
        }
        s = w + wl;
    }
    return apr_array_pstrcat(p, out, '\0');
}

/* ---- headers ------------------------------------------------------------------------ */

static void header_round_trip(apr_pool_t *p, const char *name, const char *value,
                              const char *what, int expect_encoded)
{
    const char *h = pm_mail_header(p, name, value);
    const char *problem = fold_problem(p, h);
    int words_ok;
    char *back = decode_unstructured(p, h, name, &words_ok);

    ok(problem == NULL, "%s: folded correctly%s%s", what, problem ? ": " : "",
       problem ? problem : "");
    is_str(back, value, "%s: decodes to the original", what);
    ok(words_ok, "%s: every encoded-word holds whole UTF-8 characters", what);
    if (expect_encoded >= 0) {
        ok((strstr(h, "=?UTF-8?") != NULL) == expect_encoded, "%s: %s", what,
           expect_encoded ? "uses encoded-words" : "stays plain text");
    }
    if (problem || !back || strcmp(back, value) != 0) {
        printf("#   header: '%s'\n", h);
    }
}

static void test_headers(apr_pool_t *p)
{
    char *long_ascii, *long_utf8, *emoji;
    int i;

    is_str(pm_mail_header(p, "Subject", "Your invitation"), "Subject: Your invitation",
           "short ASCII subject unchanged");
    header_round_trip(p, "Subject", "Your invitation to the client portal", "short ASCII", 0);
    header_round_trip(p, "Subject", "Zoë Núñez, your invitation", "Latin-1 accents", 1);
    header_round_trip(p, "Subject", "Riverside Counseling: Ваше приглашение — 招待状",
                      "Cyrillic, dash and CJK", 1);

    long_ascii = "";
    for (i = 0; i < 30; i++) {
        long_ascii = apr_pstrcat(p, long_ascii, i ? " " : "", "word", apr_itoa(p, i), NULL);
    }
    header_round_trip(p, "Subject", long_ascii, "long ASCII (folded at spaces)", 0);
    ok(strstr(pm_mail_header(p, "Subject", long_ascii), "\r\n ") != NULL,
       "long ASCII: continuation lines are CRLF SP");

    header_round_trip(p, "Subject",
                      "Averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword "
                      "and more", "ASCII word longer than a line", -1);

    long_utf8 = "";
    for (i = 0; i < 20; i++) {
        long_utf8 = apr_pstrcat(p, long_utf8, "Zoë Núñez ", NULL);
    }
    header_round_trip(p, "Subject", long_utf8, "long non-ASCII (several encoded-words)", 1);
    ok(strstr(pm_mail_header(p, "Subject", long_utf8), "\r\n ") != NULL,
       "long non-ASCII: continuation lines are CRLF SP");

    emoji = "";
    for (i = 0; i < 25; i++) {
        emoji = apr_pstrcat(p, emoji, "a\xF0\x9F\x98\x80", NULL);   /* 4-byte characters */
    }
    header_round_trip(p, "Subject", emoji, "4-byte characters across word boundaries", 1);

    header_round_trip(p, "Subject", "Looks like =?UTF-8?B?SGk=?= an encoded-word",
                      "ASCII text containing =? is encoded", 1);
    header_round_trip(p, "Subject", "tab\there", "control character (TAB)", 1);

    /* whitespace is part of an unstructured value (RFC 5322 §3.2.5): runs of spaces,
     * leading and trailing ones survive, also where the line folds */
    header_round_trip(p, "Subject", "Riverside  Counseling: your invitation",
                      "double space in a subject survives", 0);
    header_round_trip(p, "Subject", " leading and trailing ", "leading and trailing spaces", 0);
    header_round_trip(p, "Subject", "a     b", "a run of five spaces", 0);
    /* a leading run that does not fit the line of "Name:" (no fold can shorten it) is
     * said in encoded-words; one that fits stays plain (the fuzzer's two cases) */
    header_round_trip(p, "X-Long-Header-Name-For-Fuzzing",
                      "                                                      x",
                      "54 leading spaces after a 30-character name", 1);
    header_round_trip(p, "X-Long-Header-Name-For-Fuzzing",
                      "                                              x",
                      "46 leading spaces after a 30-character name", 0);
    {
        char *spaced = "";
        for (i = 0; i < 12; i++) {
            spaced = apr_pstrcat(p, spaced, "word", apr_itoa(p, i), "   ", NULL);
        }
        header_round_trip(p, "Subject", spaced, "runs of spaces across folds", 0);
        for (i = 0; i < 90; i++) {
            spaced = apr_pstrcat(p, spaced, " ", NULL);
        }
        header_round_trip(p, "Subject", spaced, "a run of spaces longer than a line", 1);
    }
    is_str(pm_mail_header(p, "Subject", ""), "Subject:", "empty value: the name alone");

    /* a long header name: the fold may come right after the colon */
    header_round_trip(p, "X-A-Rather-Long-Header-Name-For-Testing",
                      "Zoë Núñez, Zoë Núñez, Zoë Núñez, Zoë Núñez", "long header name", 1);
}

/* Untrusted bytes: invalid UTF-8 is encoded as U+FFFD, never a hang (main() sets an
 * alarm, so a loop that never ends fails this test instead of blocking make check). */
static void test_invalid_utf8(apr_pool_t *p)
{
    static const int runs[] = { 39, 45, 1, 100 };
    apr_size_t i, k;

    for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        char *v = apr_palloc(p, (apr_size_t)runs[i] + 2);
        const char *h, *problem;
        char *back, *want = "\xC3\x80";
        int words_ok;
        v[0] = '\xC3';
        for (k = 1; k <= (apr_size_t)runs[i]; k++) {
            v[k] = '\x80';
            if (k > 1) {
                want = apr_pstrcat(p, want, "\xEF\xBF\xBD", NULL);
            }
        }
        v[k] = '\0';
        h = pm_mail_header(p, "Subject", v);
        problem = fold_problem(p, h);
        back = decode_unstructured(p, h, "Subject", &words_ok);
        ok(problem == NULL, "0xC3 + %d continuation bytes: folded correctly%s%s", runs[i],
           problem ? ": " : "", problem ? problem : "");
        is_str(back, want, "0xC3 + %d continuation bytes: extra bytes become U+FFFD", runs[i]);
        ok(words_ok, "0xC3 + %d continuation bytes: encoded-words hold valid UTF-8", runs[i]);
    }
    {
        const char *h = pm_mail_mailbox_header(p, "To", "Zo\xEB \xFF\xFE", "zoe@example.test");
        int words_ok;
        char *display = decode_unstructured(
            p, apr_pstrndup(p, h, (apr_size_t)(strstr(h, " <") - h)), "To", &words_ok);
        is_str(display, "Zo\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD",
               "Latin-1 display name: invalid bytes become U+FFFD");
        ok(words_ok && fold_problem(p, h) == NULL, "Latin-1 display name: well-formed header");
    }
}

/* The 78-column promise for From/To: escaping is counted, long addresses stand alone. */
static void test_mailbox_lengths(apr_pool_t *p)
{
    char *bs = apr_palloc(p, 64), *local = apr_palloc(p, 65), *label = apr_palloc(p, 64);
    const char *h, *addr, *line2;
    int i;

    for (i = 0; i < 60; i++) {
        bs[i] = (i % 3 == 0) ? '\\' : (i % 3 == 1) ? '"' : 'a';
    }
    bs[60] = '\0';
    h = pm_mail_mailbox_header(p, "From", bs, "a@example.org");
    ok(fold_problem(p, h) == NULL, "60-character display name of backslashes and quotes: "
       "no line over 78 (%s)", fold_problem(p, h) ? fold_problem(p, h) : "ok");
    if (fold_problem(p, h) != NULL) {
        printf("#   header: '%s'\n", h);
    }
    {
        int words_ok;
        char *display = decode_unstructured(
            p, apr_pstrndup(p, h, (apr_size_t)(strstr(h, " <") - h)), "From", &words_ok);
        ok(strstr(h, "=?UTF-8?") == NULL || (display && strcmp(display, bs) == 0),
           "escaped display name too long to quote: encoded-words decode to the original");
    }
    h = pm_mail_mailbox_header(p, "From", "Dr. \"Ann\" Lee\\", "a@example.org");
    ok(fold_problem(p, h) == NULL && strstr(h, "\"Dr. \\\"Ann\\\" Lee\\\\\"") != NULL,
       "short display name with specials stays a quoted string");

    /* 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 characters */
    memset(local, 'l', 64);
    local[64] = '\0';
    memset(label, 'd', 63);
    label[63] = '\0';
    addr = apr_pstrcat(p, local, "@", label, ".", label, ".", apr_pstrndup(p, label, 57),
                       ".org", NULL);
    ok(strlen(addr) == 254, "a 254-character address (%d)", (int)strlen(addr));
    h = pm_mail_mailbox_header(p, "To", "Zoë Núñez", addr);
    line2 = strstr(h, "\r\n");
    ok(line2 && strcmp(line2, apr_pstrcat(p, "\r\n <", addr, ">", NULL)) == 0,
       "254-character address: alone on its continuation line");
    ok(line2 && (apr_size_t)(line2 - h) <= 78, "254-character address: the line before is "
       "within 78");
    h = pm_mail_mailbox_header(p, "To", "", addr);
    is_str(h, apr_pstrcat(p, "To:\r\n <", addr, ">", NULL),
           "254-character address without a display name: folded before it");
    h = pm_mail_mailbox_header(p, "To", "Riverside Counseling and Family Therapy of the Valley",
                               apr_pstrcat(p, apr_pstrndup(p, local, 63), "@example.org", NULL));
    ok(fold_problem(p, h) == NULL, "long display name and a 75-character address (the longest "
       "that fits after the fold): within 78");
}

static void test_mailbox(apr_pool_t *p)
{
    const char *h;
    int words_ok;
    char *display;

    is_str(pm_mail_mailbox_header(p, "To", "", "zoe@example.test"), "To: <zoe@example.test>",
           "mailbox without a display name");
    is_str(pm_mail_mailbox_header(p, "To", NULL, "zoe@example.test"), "To: <zoe@example.test>",
           "mailbox with a NULL display name");
    is_str(pm_mail_mailbox_header(p, "From", "Riverside Counseling", "no-reply@example.org"),
           "From: Riverside Counseling <no-reply@example.org>", "plain ASCII display name");
    is_str(pm_mail_mailbox_header(p, "From", "O'Brien, Dana", "d@example.org"),
           "From: \"O'Brien, Dana\" <d@example.org>", "display name with a comma is quoted");
    is_str(pm_mail_mailbox_header(p, "From", "Dr. \"Ann\" Lee\\", "a@example.org"),
           "From: \"Dr. \\\"Ann\\\" Lee\\\\\" <a@example.org>",
           "quotes and backslashes escaped inside the quoted string");

    h = pm_mail_mailbox_header(p, "To", "Zoë Núñez", "zoe@example.test");
    ok(fold_problem(p, h) == NULL, "non-ASCII display name: folded correctly");
    ok(strstr(h, "=?UTF-8?") != NULL, "non-ASCII display name: encoded-word");
    ok(strstr(h, "<zoe@example.test>") != NULL, "non-ASCII display name: address kept");
    display = decode_unstructured(p, apr_pstrndup(p, h, (apr_size_t)(strstr(h, " <") - h)),
                                  "To", &words_ok);
    is_str(display, "Zoë Núñez", "non-ASCII display name decodes to the original");

    h = pm_mail_mailbox_header(p, "From",
                               "Riverside Counseling and Family Therapy Associates of the Valley",
                               "no-reply@riverside-counseling.example.org");
    ok(fold_problem(p, h) == NULL, "long display name: folded within 78");
    ok(strstr(h, "\r\n <no-reply@riverside-counseling.example.org>") != NULL,
       "long display name: the address moves to a continuation line");
}

static void test_header_safety(void)
{
    ok(pm_mail_header_safe("a@example.org"), "plain address is safe");
    ok(!pm_mail_header_safe("a@example.org\r\nRCPT TO:<evil@example.net>"), "CRLF refused");
    ok(!pm_mail_header_safe("a@example.org\nBcc: evil@example.net"), "LF refused");
    ok(!pm_mail_header_safe("a@example.org\rBcc: evil@example.net"), "CR refused");
    ok(!pm_mail_header_safe(NULL), "NULL refused");
}

static void test_dates(apr_pool_t *p)
{
    is_str(pm_mail_date(p, 0), "Thu, 01 Jan 1970 00:00:00 +0000", "RFC 5322 date, epoch");
    is_str(pm_mail_date(p, apr_time_from_sec(1795557439)), "Tue, 24 Nov 2026 21:57:19 +0000",
           "RFC 5322 date, 2026");
}

/* ---- HTML and templates ----------------------------------------------------------- */

static void test_html_escape(apr_pool_t *p)
{
    is_str(pm_html_escape(p, "<a href=\"x\">&'</a>"),
           "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;", "all five characters escaped");
    is_str(pm_html_escape(p, "Zoë Núñez"), "Zoë Núñez", "UTF-8 passes through");
    is_str(pm_html_escape(p, ""), "", "empty string");
    is_str(pm_html_escape(p, "&amp;"), "&amp;amp;", "already-escaped text is escaped again");
}

static pm_mail_vars sample_vars(void)
{
    pm_mail_vars v;

    memset(&v, 0, sizeof(v));
    v.recipient_first_name = "Zoë";
    v.practice_name = "Riverside & <Sons>";
    v.link = "https://portal.example.org/invitation/#t=abc_DEF-123";
    v.expires_at = "1 December 2026, 21:56 UTC";
    return v;
}

static void test_template_problem(apr_pool_t *p)
{
    const char *e;

    ok(pm_template_problem(p, "Hello {{recipient_first_name}} {{practice_name}} {{link}} "
                              "{{expires_at}}", 1) == NULL, "all known placeholders accepted");
    e = pm_template_problem(p, "Hello {{last_name}} {{link}}", 1);
    ok(e && strstr(e, "{{last_name}}"), "unknown placeholder named in the error (%s)",
       e ? e : "NULL");
    e = pm_template_problem(p, "Hello {{recipient_first_name}}", 1);
    ok(e && strstr(e, "{{link}}"), "missing {{link}} reported (%s)", e ? e : "NULL");
    ok(pm_template_problem(p, "{{practice_name}}: your invitation", 0) == NULL,
       "subject without {{link}} accepted when not required");
    ok(pm_template_problem(p, "Hello {{link}", 1) != NULL, "unclosed {{ refused");
    ok(pm_template_problem(p, "{{ link }}", 1) != NULL, "placeholder with spaces is unknown");
    ok(pm_template_problem(p, "{{LINK}}", 1) != NULL, "placeholders are case-sensitive");
    ok(pm_template_problem(p, "{{date_of_birth}} {{link}}", 1) != NULL,
       "no clinical placeholder ({{date_of_birth}})");
    ok(pm_template_problem(p, "no placeholders at all", 0) == NULL, "plain text accepted");
}

static void test_template_text(apr_pool_t *p)
{
    pm_mail_vars v = sample_vars();
    char *out;

    is_str(pm_template_text(p, "Hello {{recipient_first_name}} from {{practice_name}}: "
                               "{{link}} until {{expires_at}}.", &v),
           "Hello Zoë from Riverside & <Sons>: https://portal.example.org/invitation/"
           "#t=abc_DEF-123 until 1 December 2026, 21:56 UTC.",
           "text: every placeholder replaced, nothing escaped");
    is_str(pm_template_text(p, "{{link}}\n{{link}}", &v),
           "https://portal.example.org/invitation/#t=abc_DEF-123\n"
           "https://portal.example.org/invitation/#t=abc_DEF-123", "text: repeated placeholder");
    is_str(pm_template_text(p, "no placeholders", &v), "no placeholders", "text: literal only");

    v.recipient_first_name = "{{link}}";
    out = pm_template_text(p, "Hello {{recipient_first_name}}", &v);
    is_str(out, "Hello {{link}}", "text: values are not expanded again");
}

static void test_template_html(apr_pool_t *p)
{
    pm_mail_vars v = sample_vars();
    char *out;

    v.recipient_first_name = "<script>alert(1)</script>";
    out = pm_template_html(p, "Hello {{recipient_first_name}} & welcome to "
                              "{{practice_name}}.\n\nOpen:\n{{link}}", &v, NULL, 0);
    ok(strstr(out, "<script>") == NULL, "html: first name escaped");
    ok(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL, "html: escaped form present");
    ok(strstr(out, "Riverside &amp; &lt;Sons&gt;") != NULL, "html: practice name escaped");
    ok(strstr(out, "Hello &lt;script") != NULL && strstr(out, "&amp; welcome") != NULL,
       "html: literal template text escaped");
    ok(strstr(out, "</p>\n<p>") != NULL, "html: blank line starts a paragraph");
    ok(strstr(out, "<br>\n") != NULL, "html: single newline becomes <br>");
    ok(strstr(out, "<a href=\"https://portal.example.org/invitation/#t=abc_DEF-123\"") != NULL,
       "html: link is an anchor with the URL as href");
    ok(strstr(out, ">https://portal.example.org/invitation/#t=abc_DEF-123</a>") != NULL,
       "html: link text is the URL");
    ok(strncmp(out, "<!DOCTYPE html>", 15) == 0 && strstr(out, "<meta charset=\"utf-8\">"),
       "html: a complete document declaring UTF-8");

    v = sample_vars();
    v.link = "https://x.example/?a=1&b=\"2\"#t=abc";
    out = pm_template_html(p, "{{link}}", &v, NULL, 0);
    ok(strstr(out, "href=\"https://x.example/?a=1&amp;b=&quot;2&quot;#t=abc\"") != NULL,
       "html: link escaped inside the href attribute");

    v = sample_vars();
    out = pm_template_html(p, "{{link}}", &v, "#aa3300", 0);
    ok(strstr(out, "color:#aa3300") != NULL, "html: brand colour used for the link");
    out = pm_template_html(p, "{{link}}", &v, "red\" onclick=\"alert(1)", 0);
    ok(strstr(out, "onclick=\"") == NULL, "html: a malformed brand colour cannot add attributes");
}

static pm_mail_vars layout_vars(void)
{
    pm_mail_vars v = sample_vars();

    v.button_label = "Open <it>";
    v.link_hint = "Or copy this link:";
    v.phone_label = "Phone";
    v.practice_phone = "(555) 010-4477";
    v.practice_address = "12 Main St & Co\nSpringfield, IL 62701";
    return v;
}

static void test_template_button_footer(apr_pool_t *p)
{
    pm_mail_vars v = layout_vars();
    char *out, *text;

    out = pm_template_html(p, "Open:\n{{link}}", &v, "#aa3300", 1);
    ok(strstr(out, ">Open &lt;it&gt;</a>") != NULL, "button: the label, escaped, is the link text");
    ok(strstr(out, "display:inline-block") && strstr(out, "background-color:#aa3300")
       && strstr(out, "border-radius:4px") && strstr(out, "text-decoration:none"),
       "button: an inline-styled block in the brand colour");
    ok(strstr(out, "color:#ffffff") != NULL, "button: white text on a dark brand colour");
    ok(strstr(out, "Or copy this link:<br>\n<a href=\"https://portal.example.org/invitation/"
                   "#t=abc_DEF-123\"") != NULL, "button: the raw link under it, after the hint");
    ok(strstr(out, "class=\"") == NULL || strstr(out, "style=\"display:inline-block") != NULL,
       "button: styled inline, no class needed");
    ok(strstr(out, "Riverside &amp; &lt;Sons&gt;<br>\nPhone: (555) 010-4477<br>\n12 Main St &amp; Co"
                   "<br>\nSpringfield, IL 62701</p>") != NULL,
       "html footer: name, phone, address lines (escaped)");
    ok(strstr(out, "<img src=\"cid:" PM_MAIL_LOGO_CID "\"") != NULL, "html: the logo on top");
    out = pm_template_html(p, "{{link}}", &v, "#ffee00", 0);
    ok(strstr(out, "color:#000000") != NULL, "button: black text on a light brand colour");
    ok(strstr(out, "word-break:break-all") && strstr(out, "color:#1a5fb4;word-break"),
       "light brand colour: the raw link keeps the readable default blue");
    out = pm_template_html(p, "{{link}}", &v, "red\" onclick=\"alert(1)", 0);
    ok(strstr(out, "onclick") == NULL && strstr(out, "background-color:#1a5fb4"),
       "button: a malformed brand colour falls back to the default");

    text = apr_pstrcat(p, pm_template_text(p, "Open:\n{{link}}\n", &v),
                       pm_mail_footer_text(p, &v), NULL);
    is_str(text, "Open:\nhttps://portal.example.org/invitation/#t=abc_DEF-123\n\n-- \n"
                 "Riverside & <Sons>\nPhone: (555) 010-4477\n12 Main St & Co\n"
                 "Springfield, IL 62701\n", "text: the raw link, then the footer");
    v.practice_phone = NULL;
    v.practice_address = NULL;
    is_str(pm_mail_footer_text(p, &v), "\n-- \nRiverside & <Sons>\n", "footer: the name alone");
    v.practice_name = NULL;
    is_str(pm_mail_footer_text(p, &v), "", "footer: nothing to say, no footer");

    /* SpamAssassin's HTML_IMAGE_ONLY_04..32 score an image with at most 3,200 bytes of
     * HTML: the layout alone, around the shortest template, is above that */
    v = layout_vars();
    v.practice_name = "X";
    v.link = "https://p.example/#t=x";
    v.practice_phone = v.practice_address = NULL;
    out = pm_template_html(p, "{{link}}", &v, NULL, 1);
    ok(strlen(out) > 3200, "html with a logo: %d bytes around a bare {{link}} (> 3200)",
       (int)strlen(out));
    ok(strstr(out, "<v:roundrect ") && strstr(out, "fillcolor=\"#1a5fb4\"")
       && strstr(out, "<!--[if !mso]><!--><a href="), "button: VML for Outlook, the link for the rest");
    v = layout_vars();
    v.footer_note = "Why you got this.";
    text = pm_mail_footer_text(p, &v);
    ok(strstr(text, "Springfield, IL 62701\n\nWhy you got this.\n") != NULL,
       "footer: the note after a blank line");
    out = pm_template_html(p, "{{link}}", &v, NULL, 0);
    ok(strstr(out, "Springfield, IL 62701</p>\n<p>Why you got this.</p>") != NULL,
       "html footer: the note is its own paragraph");

    is_str(pm_mail_on_color("#000000"), "#ffffff", "on black: white");
    is_str(pm_mail_on_color("#ffffff"), "#000000", "on white: black");
    is_str(pm_mail_on_color("#1a5fb4"), "#ffffff", "on the default blue: white");
    is_str(pm_mail_on_color("#ffcc00"), "#000000", "on amber: black");
}

/* ---- tokens ---------------------------------------------------------------------- */

static void test_tokens(apr_pool_t *p)
{
    const char *raw = NULL, *hash = NULL, *raw2 = NULL, *hash2 = NULL;
    unsigned char *bytes = NULL;
    long n;

    is_str(pm_token_hash(p, "abc"),
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "SHA-256 of \"abc\" (FIPS 180-2 vector), lower-case hex");
    is_str(pm_token_hash(p, ""),
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "SHA-256 of the empty string");
    is_str(pm_token_hash(p, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "SHA-256 of the 448-bit FIPS vector");

    ok(pm_token_new(p, &raw, &hash) == APR_SUCCESS, "pm_token_new succeeds");
    ok(raw && strlen(raw) == 43, "token is 43 characters (%s)", raw ? raw : "NULL");
    ok(raw && strspn(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43,
       "token is base64url without padding");
    ok(raw && pm_token_well_formed(raw), "pm_token_well_formed accepts it");
    n = raw ? pm_base64url_decode(p, raw, &bytes) : -1;
    ok(n == 32, "token decodes to 32 bytes (%ld)", n);
    is_str(hash, raw ? pm_token_hash(p, raw) : NULL, "hash is the SHA-256 of the token text");
    ok(hash && strlen(hash) == 64 && strspn(hash, "0123456789abcdef") == 64,
       "hash is 64 lower-case hex digits");
    ok(pm_token_new(p, &raw2, &hash2) == APR_SUCCESS && strcmp(raw, raw2) != 0
       && strcmp(hash, hash2) != 0, "two tokens differ");

    ok(!pm_token_well_formed("abc"), "short token refused");
    ok(!pm_token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), "44 characters refused");
    ok(!pm_token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"), "'+' refused");
    ok(!pm_token_well_formed(""), "empty refused");
}

/* WCAG 2 relative luminance, exactly (the module's choice uses an approximation) */
static double exact_luminance(unsigned int rgb)
{
    double sum = 0, c;
    static const double weight[3] = { 0.2126, 0.7152, 0.0722 };
    int i;

    for (i = 0; i < 3; i++) {
        c = (double)((rgb >> (16 - 8 * i)) & 0xff) / 255.0;
        sum += weight[i] * (c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
    }
    return sum;
}

/* The button's text reads at least 4.5:1 on every grey and on a spread of colours
 * (a middle grey such as #7c7c7c was 4.2:1 against the softer near-black). */
static double chosen_contrast(unsigned int rgb)
{
    double l = exact_luminance(rgb);
    char hex[8];

    apr_snprintf(hex, sizeof(hex), "#%06x", rgb);
    return strcmp(pm_mail_on_color(hex), "#ffffff") == 0 ? 1.05 / (l + 0.05) : (l + 0.05) / 0.05;
}

static void contrast_everywhere(void)
{
    unsigned int rgb, worst_rgb = 0, r, g, b, i, n = 0;
    unsigned int colours[256 + 16 * 16 * 16];
    double worst = 21, ratio;

    for (i = 0; i < 256; i++) {
        colours[n++] = i * 0x010101;                /* every grey */
    }
    for (r = 0; r < 256; r += 17) {
        for (g = 0; g < 256; g += 17) {
            for (b = 0; b < 256; b += 17) {
                colours[n++] = r << 16 | g << 8 | b;
            }
        }
    }
    for (i = 0; i < n; i++) {
        rgb = colours[i];
        if ((ratio = chosen_contrast(rgb)) < worst) {
            worst = ratio;
            worst_rgb = rgb;
        }
    }
    ok(worst >= 4.5, "button text on any brand colour reads 4.5:1 or better (worst %.2f on #%06x)",
       worst, worst_rgb);
}

int main(void)
{
    apr_pool_t *p;

    alarm(60);                        /* a header encoder that never returns fails */
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_headers(p);
    test_mailbox(p);
    test_invalid_utf8(p);
    test_mailbox_lengths(p);
    test_header_safety();
    test_dates(p);
    test_html_escape(p);
    test_template_problem(p);
    test_template_text(p);
    test_template_html(p);
    test_template_button_footer(p);
    test_tokens(p);
    apr_pool_destroy(p);
    apr_terminate();
    contrast_everywhere();
    return done_testing();
}
