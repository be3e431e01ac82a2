/* Unit tests for UTF-8 checks and cutting, the name rule and email validation
 * (src/core/pm_text.c). */
#include "pm_text.h"
#include <apr_strings.h>
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

static void test_mask_reply(apr_pool_t *p)
{
    const char *tok = "1Y3Adb7s3c3ToZOylQSsyHlBgiMPRkZbGbya5_xHPB0";   /* 43, as a link's */

    is_str(pm_mask_reply(p, apr_pstrcat(p, "550 5.7.1 URL http://h/portal/invitation/#t=", tok,
                                        " is listed", NULL), NULL),
           "550 5.7.1 URL http://h/portal/invitation/#t=*** is listed",
           "mask reply: a quoted link's token");
    is_str(pm_mask_reply(p, apr_pstrcat(p, "451 ", tok, "-", tok, NULL), NULL), "451 ***",
           "mask reply: two tokens in one run");
    is_str(pm_mask_reply(p, "250 2.0.0 OK d9443c01a7336-1f2b0e4c4b2si123456pls.15 - gsmtp", NULL),
           "250 2.0.0 OK d9443c01a7336-1f2b0e4c4b2si123456pls.15 - gsmtp",
           "mask reply: a relay's 36-character trace id is kept");
    is_str(pm_mask_reply(p, "550 mailbox Reject.Aisha disabled; <reject.aisha>... User unknown",
                         "reject.aisha@example.net"),
           "550 mailbox *** disabled; <***>... User unknown",
           "mask reply: the recipient's bare local part, any case");
    is_str(pm_mask_reply(p, "550 reject.aisha%40example.net and x=40y", "reject.aisha@example.net"),
           "550 ***%40example.net and x=40y", "mask reply: the recipient's encoded address");
    is_str(pm_mask_reply(p, "550 jo is here", "jo@example.net"), "550 jo is here",
           "mask reply: a local part under 3 characters is not hunted for");
    is_str(pm_mask_reply(p, "550 <zoe@example.org> unknown", NULL), "550 <***@example.org> unknown",
           "mask reply: addresses as pm_mask_emails");
}

/* Names the rule takes: every script's letters, marks after a letter, the name
 * punctuation, ZWNJ/ZWJ inside a word. */
static const char *const good_names[] = {
    "a", "José", "Zoë", "Zoe\xCC\x88", "O'Brien", "O\xE2\x80\x99" "Brien", "Mary-Jane",
    "St. John", "Jean Luc", "Nguyễn", "Nguye\xCC\x82\xCC\x83n" /* combining circumflex, tilde */,
    "李", "佐々木" /* iteration mark (Lm) */, "ジョン・スミス" /* katakana middle dot */,
    "김민준", "Иван", "محمد", "Ἀλέξανδρος", "हिन्दी", "क्\xE2\x80\x8Dष" /* ZWJ after virama */,
    "می\xE2\x80\x8Cخواهم" /* Persian ZWNJ */, "דוד", "בן־גוריון" /* maqaf */,
    "ג׳ורג׳" /* geresh */, "שָׁלוֹם" /* niqqud */, "Ka\xCA\xBBiulani" /* okina U+02BB */,
    "Հակոբյան", "สมชาย", "བཀྲ་ཤིས" /* tsheg */, "Ｊｏｈｎ" /* fullwidth */, "ÆSIR Øster",
    "Ł. Ñuñez-D'Arcy",
};

/* Each refused, with the reason it must be refused for. */
static const struct { const char *name, *why; } bad_names[] = {
    { "\xEF\xBB\xBF", "BOM (U+FEFF) alone" },
    { "Ann\xEF\xBB\xBF", "BOM after letters" },
    { "\xE3\x85\xA4", "Hangul filler (U+3164) alone" },
    { "\xE3\x85\xA4\xE3\x85\xA4", "two Hangul fillers" },
    { "\xEF\xBE\xA0", "halfwidth Hangul filler (U+FFA0)" },
    { "\xD8\x9C" "A", "Arabic letter mark (U+061C) before A" },
    { "A\xE2\x80\x8F", "right-to-left mark (U+200F)" },
    { "A\xE2\x80\xAE" "B", "right-to-left override (U+202E)" },
    { "A\xC2\xAD" "B", "soft hyphen (U+00AD)" },
    { "A\xE2\x81\xA0" "B", "word joiner (U+2060)" },
    { "A\xCD\x8F" "B", "combining grapheme joiner (U+034F)" },
    { "A\xEF\xB8\x8F", "variation selector (U+FE0F)" },
    { "Ann\xE2\x80\x8B" "Lee", "zero-width space (U+200B)" },
    { "\xCC\x81", "a lone combining acute (U+0301)" },
    { "\xCC\x81\xCC\x81", "two lone combining acutes" },
    { "\xCC\x81" "a", "a name that starts with a combining mark" },
    { "Ann \xCC\x81", "a combining mark after a space" },
    { "O'\xCC\x81", "a combining mark after an apostrophe" },
    { "\xE0\xA4\xBF", "a lone Devanagari vowel sign (U+093F)" },
    { "\xE2\x80\x8D", "ZWJ alone" },
    { "\xE2\x80\x8C" "Ann", "ZWNJ at the start" },
    { "Ann\xE2\x80\x8D", "ZWJ at the end" },
    { "Ann \xE2\x80\x8C" "Lee", "ZWNJ after a space" },
    { "Ann\xE2\x80\x8C-Lee", "ZWNJ before a hyphen" },
    { "Ann\xE2\x80\x8D\xE2\x80\x8DLee", "two ZWJ in a row" },
    { "\xE3\x83\xBC", "a prolonged sound mark (Lm) alone: no letter" },
    { "\xE3\x83\xBB", "a katakana middle dot alone: no letter" },
    { "'-.", "punctuation only" },
    { "R2D2", "a digit" },
    { "\xD9\xA1\xD9\xA2", "Arabic-Indic digits" },
    { "\xE0\xB9\x91", "a Thai digit" },
    { "Ann\xF0\x9F\x98\x80", "an emoji" },
    { "Ann\xE2\x88\x91", "a math symbol" },
    { "A\xE2\x83\x9D", "an enclosing circle (U+20DD)" },
    { "\xE2\x85\xAB", "a Roman numeral (U+216B)" },
    { "Ann\xEE\x80\x80", "private use (U+E000)" },
    { "Ann\xCD\xB8", "an unassigned code point (U+0378)" },
    { "Ann_Lee", "an underscore" },
    { "Ann\xC2\xB7Lee", "a middle dot (U+00B7)" },
    { " Ann", "a leading space" },
    { "Ann ", "a trailing space" },
    { "", "empty" },
    { "Ann\xC3", "malformed UTF-8" },
};

/* Names from the practice's records (roster sync, clients import): what an EHR may
 * hold beside letters passes; invisible, formatting and line-breaking characters, a
 * mark with nothing to sit on and a name without a letter do not. */
static void test_record_names(void)
{
    static const char *const good[] = {
        "Smith, Jr.", "O'Brien", "Anne-Marie", "Jos\xC3\xA9", "Smith (Jones)", "John 2nd",
        "\xD9\x85\xD8\xAD\xD9\x85\xD8\xAF",                 /* Arabic */
        "\xD9\x85\xD9\x87\xE2\x80\x8C\xD8\xB3\xD8\xA7",     /* Persian with ZWNJ */
        "Call 555-0100 https://evil.test/verify",             /* text, seen as text */
    };
    static const struct { const char *name, *why; } bad[] = {
        { "\xE2\x80\xAEX", "a right-to-left override (U+202E)" },
        { "Ann\xEF\xBB\xBF", "a byte order mark inside" },
        { "\xE3\x85\xA4", "a Hangul filler alone" },
        { "Ann\xE2\x80\xA8Lee", "a line separator (U+2028)" },
        { "Ann\xC2\x85", "a C1 control (U+0085)" },
        { "Ann\xEE\x80\x80", "a private-use character" },
        { "\xCC\x81" "a", "a leading combining mark" },
        { "Ann\xE2\x80\x8D", "a joiner at the end" },
        { "123", "no letter" },
        { "", "empty" },
    };
    size_t i;
    const char *problem;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        problem = pm_record_name_problem(good[i]);
        ok(problem == NULL, "record name '%s' accepted (%s)", good[i], problem ? problem : "ok");
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(pm_record_name_problem(bad[i].name) != NULL, "record name refused: %s", bad[i].why);
    }
    is_str(pm_record_name_problem("\xE2\x80\xAEX"), "contains an invisible or formatting character",
           "record name with a bidi override: the message names it");
    is_str(pm_record_name_problem("12 34"), "must contain a letter", "record name of digits: says so");
}

static void test_names(void)
{
    size_t i;
    char longest[201], too_long[203];
    const char *problem;

    for (i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
        problem = pm_name_problem(good_names[i]);
        ok(problem == NULL, "name '%s' accepted (%s)", good_names[i], problem ? problem : "ok");
    }
    for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        ok(pm_name_problem(bad_names[i].name) != NULL, "name refused: %s", bad_names[i].why);
    }
    is_str(pm_name_problem("\xEF\xBB\xBF"), "contains an invisible or formatting character",
           "BOM: the message names it");
    is_str(pm_name_problem("\xCC\x81"),
           "has a combining mark (an accent or vowel sign) that does not follow a letter",
           "lone accent: the message names it");
    is_str(pm_name_problem("\xE3\x83\xBC"), "must contain letters and not start or end with a space",
           "no letter: the message says so");
    memset(longest, 0, sizeof(longest));
    for (i = 0; i < 100; i++) {
        memcpy(longest + 2 * i, "\xC3\xA9", 2);
    }
    ok(pm_name_problem(longest) == NULL, "100 two-byte letters accepted");
    memcpy(too_long, longest, 200);
    memcpy(too_long + 200, "\xC3\xA9", 3);
    is_str(pm_name_problem(too_long), "is longer than 100 characters", "101 letters refused");
}

static void test_utf8_head(apr_pool_t *p)
{
    const char *twenty = "a\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                         "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    const char *cut = pm_utf8_head(p, twenty, 20);

    ok(pm_utf8_length(cut) == 20 && strlen(cut) == 39, "head: 20 characters of 'a' + 20 x 'é'");
    ok(pm_utf8_valid(cut, strlen(cut), 0), "head: never cut inside a character");
    is_str(pm_utf8_head(p, "Zoë", 20), "Zoë", "head: a short text unchanged");
    is_str(pm_utf8_head(p, "李小龙", 2), "李小", "head: three-byte characters");
    is_str(pm_utf8_head(p, "a\xF0\x9F\x98\x80" "b", 2), "a\xF0\x9F\x98\x80", "head: four-byte character");
    is_str(pm_utf8_head(p, "a\xFF" "bc", 2), "a\xFF", "head: a malformed byte counts as one");
    is_str(pm_utf8_head(p, "", 5), "", "head: empty");
}

static void test_email_domain_messages(void)
{
    is_str(pm_email_problem("x@a..test"), "has two dots in a row in its domain",
           "x@a..test: the domain is named, not the part before the '@'");
    is_str(pm_email_problem("x@.a.test"), "has a domain that starts with '.'", "x@.a.test");
    is_str(pm_email_problem("x@a.test."), "has a domain that ends with '.'", "x@a.test.");
    is_str(pm_email_problem("a..b@example.org"), "has a misplaced '.' before the '@'",
           "a..b@: still the part before the '@'");
    is_str(pm_email_problem("a.@example.org"), "has a misplaced '.' before the '@'", "a.@");
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
    test_mask_reply(p);
    test_names();
    test_record_names();
    test_utf8_head(p);
    test_email_domain_messages();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
