/* Unit tests for the character-set reader (src/core/pm_charset.c): Windows-1252
 * and Latin-1 made UTF-8 through ICU, read a little at a time. */
#include "pm_charset.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

typedef struct {
    const char *s;
    apr_size_t len, pos, step;
    apr_status_t fail_at_end;   /* returned instead of the end, when set */
} source;

static apr_status_t read_source(void *ctx, char *buf, apr_size_t *len)
{
    source *src = ctx;
    apr_size_t n = src->len - src->pos;

    if (n == 0 && src->fail_at_end) {
        return src->fail_at_end;
    }
    n = n < src->step ? n : src->step;
    n = n < *len ? n : *len;
    memcpy(buf, src->s + src->pos, n);
    src->pos += n;
    *len = n;
    return APR_SUCCESS;
}

/* All of text (len bytes) in charset, read `out` bytes at a time from a source
 * that gives `step` at a time; NULL when the reader cannot be made or fails. */
static const char *convert(apr_pool_t *p, const char *charset, const char *text, apr_size_t len,
                           apr_size_t step, apr_size_t out)
{
    source src = { text, len, 0, step, 0 };
    pm_charset_reader *r = pm_charset_reader_make(p, charset, read_source, &src);
    char *all = apr_pcalloc(p, 4 * len + 1), buf[64];
    apr_size_t n, got = 0;

    if (r == NULL) {
        return NULL;
    }
    do {
        n = out;
        if (pm_charset_read(r, buf, &n) != APR_SUCCESS) {
            return NULL;
        }
        memcpy(all + got, buf, n);
        got += n;
    } while (n > 0);
    all[got] = '\0';
    return all;
}

static void test_windows_1252(apr_pool_t *p)
{
    static const char csv[] = "K1,Mar\xED" "a,Garc\xED" "a,1980-01-01,\nK2,Zo\xEB,N\xFA\xF1" "ez \x80,,\n";
    static const char want[] = "K1,María,García,1980-01-01,\nK2,Zoë,Núñez €,,\n";
    apr_size_t step, out;

    for (step = 1; step <= 64; step *= 4) {
        for (out = 1; out <= 64; out *= 2) {
            const char *got = convert(p, "windows-1252", csv, sizeof(csv) - 1, step, out);

            if (got == NULL || strcmp(got, want) != 0) {
                ok(0, "windows-1252 in %u, out %u: got '%s'", (unsigned)step, (unsigned)out,
                   got ? got : "(failed)");
                return;
            }
        }
    }
    ok(1, "windows-1252: the same UTF-8 read 1-64 bytes in and 1-64 bytes out at a time");
    is_str(convert(p, "cp1252", "\x93quoted\x94", 8, 64, 64), "\xE2\x80\x9C" "quoted\xE2\x80\x9D",
           "cp1252 (an alias): curly quotes");
    is_str(convert(p, "ISO-8859-1", "\xE9\x80", 2, 64, 64), "\xC3\xA9\xC2\x80",
           "ISO-8859-1: 0x80 is the C1 control U+0080, not the euro");
    is_str(convert(p, "windows-1252", "a\x81z", 3, 64, 64), "a\xC2\x81" "z",
           "a byte Windows-1252 leaves undefined: ICU's C1 control U+0081 (the roster refuses it)");
    is_str(convert(p, "Shift_JIS", "a\x82\xA0" "b\x85\x40" "c", 7, 64, 64),
           "a\xE3\x81\x82" "b\x1A" "c", "Shift_JIS: a hiragana; a byte pair it does not have: U+001A");
    is_str(convert(p, "UTF-16LE", "a\0\x00\xD8" "b\0", 6, 64, 64), "a\x1A" "b",
           "UTF-16: an unpaired surrogate is U+001A, not U+FFFD (which every check lets by)");
    is_str(convert(p, "windows-1252", "", 0, 64, 64), "", "an empty source: empty");
}

/* What convert() cannot tell from a failure: the status of reading all of text,
 * step bytes a read in and out bytes a read out; *got the bytes read out. */
static apr_status_t read_all(apr_pool_t *p, const char *charset, const char *text,
                             apr_size_t step, apr_size_t out, apr_size_t *got)
{
    source src = { text, strlen(text), 0, step, 0 };
    pm_charset_reader *r = pm_charset_reader_make(p, charset, read_source, &src);
    char buf[64];
    apr_size_t n;
    apr_status_t rv;

    *got = 0;
    do {
        n = out < sizeof(buf) ? out : sizeof(buf);
        rv = pm_charset_read(r, buf, &n);
        *got += rv == APR_SUCCESS ? n : 0;
    } while (rv == APR_SUCCESS && n > 0);
    return rv;
}

static apr_status_t status_of(apr_pool_t *p, const char *charset, const char *text, apr_size_t step)
{
    apr_size_t got;

    return read_all(p, charset, text, step, 64, &got);
}

static void test_utf8_already(apr_pool_t *p)
{
    char *out;
    apr_size_t n;

    ok(status_of(p, "windows-1252", "K1,Mar\xC3\xAD" "a,Garc\xC3\xAD" "a\n", 64) == PM_CHARSET_IS_UTF8,
       "UTF-8 text read as windows-1252: PM_CHARSET_IS_UTF8, not Mar\xC3\x83\xC2\xAD" "a");
    ok(status_of(p, "windows-1252", "\xEF\xBB\xBF" "external_id\n", 64) == PM_CHARSET_IS_UTF8,
       "UTF-8's byte-order mark read as windows-1252: PM_CHARSET_IS_UTF8");
    ok(status_of(p, "windows-1252", "K1,Ann\nK2,Bo\nK3,Jos\xC3\xA9\n", 4) == PM_CHARSET_IS_UTF8,
       "UTF-8 found in a later chunk: PM_CHARSET_IS_UTF8 too");
    ok(status_of(p, "windows-1252", "Pe\xF1" "a,Garc\xED" "a\n", 64) == APR_SUCCESS,
       "real windows-1252 text: read");
    ok(status_of(p, "windows-1252", "Jos\xE9 \xC3\xA9t\xE9\n", 64) == APR_SUCCESS,
       "windows-1252 with one pair that looks like UTF-8 among bytes that cannot be: read");
    ok(pm_charset_convert(p, "windows-1252", "Jos\xC3\xA9", 6, &out, &n) == PM_CHARSET_IS_UTF8,
       "pm_charset_convert says so too");
    /* fuzz_roster: the first accent decides, however the source is cut into reads
     * (the whole in one read gave a conversion, "GarcÃ­a"; 4 bytes at a time a refusal) */
    ok(status_of(p, "windows-1252", "K1,Garc\xC3\xAD" "a\nK2,Pe\xF1" "a\n", 64) == PM_CHARSET_IS_UTF8,
       "UTF-8 first, a byte UTF-8 does not have later in the same read: PM_CHARSET_IS_UTF8");
    {
        static const char *const texts[] = {
            "K1,Garc\xC3\xAD" "a\nK2,Pe\xF1" "a\n", "K1,Pe\xF1" "a\nK2,Garc\xC3\xAD" "a\n",
            "\xEF\xBB\xBF" "K1,Pe\xF1" "a\n", "K1,Jos\xC3 \xA9\n", NULL
        };
        apr_size_t step;
        int i, same = 1;

        for (i = 0; texts[i]; i++) {
            for (step = 1; step <= 16; step++) {
                same &= status_of(p, "windows-1252", texts[i], step)
                        == status_of(p, "windows-1252", texts[i], 64);
            }
        }
        ok(same, "UTF-8 or not: the same answer read 1 to 16 bytes at a time as in one read");
    }
    {
        /* ...and at the same place: the text before UTF-8's first character is read
         * first (a roster's bad header is then the problem, however the reads end) */
        static const char text[] = "K1,Ann\nK2,Bo\nK3,Jos\xC3\xA9\n";
        apr_size_t step, got = 0;
        int same = 1;

        for (step = 1; step <= 64; step++) {
            same &= read_all(p, "windows-1252", text, step, 7, &got) == PM_CHARSET_IS_UTF8
                    && got == 19;
        }
        ok(same, "UTF-8 after 19 bytes: those 19 read, then PM_CHARSET_IS_UTF8, at any step "
           "(last got %u)", (unsigned)got);
    }
}

static void test_names_and_errors(apr_pool_t *p)
{
    source src = { "abc", 3, 0, 64, APR_EGENERAL };
    pm_charset_reader *r;
    char buf[16];
    apr_size_t n = sizeof(buf);

    char *whole;
    apr_size_t whole_len;

    ok(pm_charset_convert(p, "windows-1252", "Pe\xF1" "a \x80", 6, &whole, &whole_len)
       == APR_SUCCESS && whole_len == 9 && strcmp(whole, "Pe\xC3\xB1" "a \xE2\x82\xAC") == 0,
       "a whole buffer converted (Peña €)");
    ok(pm_charset_convert(p, "klingon-1", "x", 1, &whole, &whole_len) == APR_EGENERAL,
       "a whole buffer in an unknown character set: an error");
    ok(pm_charset_known("windows-1252") && pm_charset_known("latin1"),
       "pm_charset_known: windows-1252 and an alias");
    ok(!pm_charset_known("klingon-1") && !pm_charset_known("") && !pm_charset_known(NULL),
       "pm_charset_known: not an unknown name, an empty one or none");
    ok(convert(p, "klingon-1", "x", 1, 64, 64) == NULL, "an unknown character set: no reader");
    ok(convert(p, "", "x", 1, 64, 64) == NULL, "an empty name: no reader (not the platform's)");
    ok(convert(p, NULL, "x", 1, 64, 64) == NULL, "no name: no reader");
    ok(pm_charset_is_utf8("UTF-8") && pm_charset_is_utf8("utf8") && pm_charset_is_utf8("utf-8"),
       "UTF-8 in its spellings is UTF-8");
    ok(!pm_charset_is_utf8("windows-1252") && !pm_charset_is_utf8("nonsense"),
       "windows-1252 and an unknown name are not");
    r = pm_charset_reader_make(p, "windows-1252", read_source, &src);
    ok(r && pm_charset_read(r, buf, &n) == APR_SUCCESS && n == 3, "the source's bytes first");
    n = sizeof(buf);
    ok(r && pm_charset_read(r, buf, &n) == APR_EGENERAL, "then the source's error, as it is");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_windows_1252(p);
    test_names_and_errors(p);
    test_utf8_already(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
