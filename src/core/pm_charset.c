/* pm_charset.c — bytes in another character set made UTF-8 while they are read
 * (pm_charset.h): ICU's ucnv_convertEx between the source's converter and
 * UTF-8's, through a pivot of UTF-16, a buffer of input at a time. */
#include "pm_charset.h"

#include <apr_strings.h>
#include <string.h>
#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>

#define IN_BYTES    4096
#define PIVOT_UNITS 1024

struct pm_charset_reader {
    UConverter *from, *to;
    pm_charset_read_fn read;
    void *ctx;
    char in[IN_BYTES];
    const char *in_pos, *in_end;
    UChar pivot[PIVOT_UNITS];
    UChar *pivot_source, *pivot_target;
    int eof;
    int single_byte;        /* the source's character set has one byte a character */
    int verdict;            /* the source read as UTF-8 (scan_as_utf8): 1 UTF-8,
                             * -1 not, 0 undecided */
    int pending;            /* converted text not yet handed out (buf was full) */
    apr_size_t held;        /* bytes after in_end kept for the next read (the start
                             * of a character, or UTF-8 from its first character) */
};

static apr_status_t close_converters(void *data)
{
    pm_charset_reader *r = data;

    if (r->from) {
        ucnv_close(r->from);
    }
    if (r->to) {
        ucnv_close(r->to);
    }
    return APR_SUCCESS;
}

int pm_charset_known(const char *name)
{
    UErrorCode err = U_ZERO_ERROR;

    /* ucnv_open takes "" as the platform's own character set: not a name */
    return name != NULL && *name != '\0' && ucnv_countAliases(name, &err) > 0
           && U_SUCCESS(err);
}

int pm_charset_is_utf8(const char *name)
{
    UErrorCode err = U_ZERO_ERROR;
    const char *canonical = ucnv_getAlias(name, 0, &err);

    return U_SUCCESS(err) && canonical != NULL && strcmp(canonical, "UTF-8") == 0;
}

/* Bytes the character set does not have, or a malformed sequence: U+001A, so that
 * the roster refuses the row by its line (ICU's own choice is U+001A for some
 * character sets and U+FFFD, which passes every check, for others). */
static void substitute_control(const void *context, UConverterToUnicodeArgs *args,
                               const char *units, int32_t length, UConverterCallbackReason reason,
                               UErrorCode *err)
{
    static const UChar sub = 0x1A;

    if (reason <= UCNV_IRREGULAR) {
        *err = U_ZERO_ERROR;
        ucnv_cbToUWriteUChars(args, &sub, 1, 0, err);
    }
}

pm_charset_reader *pm_charset_reader_make(apr_pool_t *p, const char *name,
                                          pm_charset_read_fn read, void *ctx)
{
    pm_charset_reader *r = apr_pcalloc(p, sizeof(*r));
    UErrorCode err = U_ZERO_ERROR;

    apr_pool_cleanup_register(p, r, close_converters, apr_pool_cleanup_null);
    if (!pm_charset_known(name)) {
        return NULL;
    }
    r->from = ucnv_open(name, &err);
    r->to = U_SUCCESS(err) ? ucnv_open("UTF-8", &err) : NULL;
    if (U_SUCCESS(err)) {
        ucnv_setToUCallBack(r->from, substitute_control, NULL, NULL, NULL, &err);
    }
    if (U_FAILURE(err)) {
        return NULL;
    }
    r->single_byte = ucnv_getMaxCharSize(r->from) == 1;
    r->read = read;
    r->ctx = ctx;
    r->in_pos = r->in_end = r->in;
    r->pivot_source = r->pivot_target = r->pivot;
    return r;
}

/* Reads in[0..n) of a single-byte character set's text as UTF-8 would until its
 * first character beyond ASCII decides: written as UTF-8 writes it ("Ã©" for "é",
 * or a byte-order mark: Windows-1252 text almost never starts its accents so) or
 * not. Answers how many bytes may be converted: all of them, or those before that
 * character when it is UTF-8 (the reader then says PM_CHARSET_IS_UTF8 once they
 * are read, where the stream reaches it), or those before a character whose bytes
 * are still to come (kept for the next read). Decided where the bytes are, so the
 * answer does not depend on how the source is cut into reads. */
static apr_size_t scan_as_utf8(pm_charset_reader *r, apr_size_t n)
{
    const unsigned char *b = (const unsigned char *)r->in;
    apr_size_t i, start = 0;
    int need = 0;

    for (i = 0; i < n && r->verdict == 0; i++) {
        if (need > 0) {
            r->verdict = (b[i] & 0xC0) != 0x80 ? -1 : --need == 0 ? 1 : 0;
        }
        else if (b[i] >= 0x80 && (b[i] < 0xC2 || b[i] > 0xF4)) {
            r->verdict = -1;
        }
        else if (b[i] >= 0x80) {
            need = b[i] <= 0xDF ? 1 : b[i] <= 0xEF ? 2 : 3;
            start = i;
        }
    }
    if (r->verdict == 0 && need > 0 && r->eof) {
        r->verdict = -1;        /* the source ends inside it */
    }
    return r->verdict < 0 || (r->verdict == 0 && need == 0) ? n : start;
}

/* More of the source when what was read is used up: 1, or 0 with *rv its error
 * (PM_CHARSET_IS_UTF8 once the text before UTF-8's first character is read). */
static int refill(pm_charset_reader *r, apr_status_t *rv)
{
    apr_size_t n = sizeof(r->in) - r->held;

    if (r->in_pos < r->in_end || r->eof) {
        return 1;
    }
    if (r->verdict > 0) {
        *rv = r->pending ? APR_SUCCESS : PM_CHARSET_IS_UTF8;
        return r->pending;
    }
    memmove(r->in, r->in_end, r->held);     /* a character begun in the last read */
    *rv = r->read(r->ctx, r->in + r->held, &n);
    if (*rv == APR_EOF) {
        *rv = APR_SUCCESS;
        n = 0;
    }
    if (*rv != APR_SUCCESS) {
        return 0;
    }
    r->eof = n == 0;
    n += r->held;
    r->in_pos = r->in;
    r->in_end = r->in + (r->single_byte ? scan_as_utf8(r, n) : n);
    r->held = (apr_size_t)(r->in + n - r->in_end);
    return 1;
}

apr_status_t pm_charset_read(void *reader, char *buf, apr_size_t *len)
{
    pm_charset_reader *r = reader;
    char *out = buf, *end = buf + *len;
    apr_status_t rv = APR_SUCCESS;
    UErrorCode err;

    while (out == buf) {
        if (!refill(r, &rv)) {
            return rv;
        }
        err = U_ZERO_ERROR;
        ucnv_convertEx(r->to, r->from, &out, end, &r->in_pos, r->in_end, r->pivot,
                       &r->pivot_source, &r->pivot_target, r->pivot + PIVOT_UNITS,
                       0, r->eof, &err);
        r->pending = err == U_BUFFER_OVERFLOW_ERROR || r->pivot_source < r->pivot_target;
        if (err == U_BUFFER_OVERFLOW_ERROR) {
            break;                 /* buf is full: the rest waits in the converters */
        }
        if (U_FAILURE(err)) {
            return APR_EGENERAL;
        }
        if (r->eof) {
            break;                 /* flushed: out == buf means the end */
        }
    }
    *len = (apr_size_t)(out - buf);
    return APR_SUCCESS;
}

typedef struct {
    const char *buf;
    apr_size_t len, pos;
} memory_source;

static apr_status_t read_memory(void *ctx, char *buf, apr_size_t *len)
{
    memory_source *m = ctx;
    apr_size_t n = m->len - m->pos < *len ? m->len - m->pos : *len;

    memcpy(buf, m->buf + m->pos, n);
    m->pos += n;
    *len = n;
    return APR_SUCCESS;
}

apr_status_t pm_charset_convert(apr_pool_t *p, const char *name, const char *in,
                                apr_size_t in_len, char **out, apr_size_t *out_len)
{
    memory_source m = { in, in_len, 0 };
    pm_charset_reader *r = pm_charset_reader_make(p, name, read_memory, &m);
    /* a single-byte character becomes at most 3 bytes of UTF-8; more room is made
     * when a character set needs it */
    apr_size_t cap = 3 * in_len + 16, got = 0, n;
    char *buf = apr_palloc(p, cap), *bigger;
    apr_status_t rv;

    if (r == NULL) {
        return APR_EGENERAL;
    }
    do {
        if (cap - got < 64) {
            bigger = apr_palloc(p, cap * 2);
            memcpy(bigger, buf, got);
            buf = bigger;
            cap *= 2;
        }
        n = cap - got - 1;
        if ((rv = pm_charset_read(r, buf + got, &n)) != APR_SUCCESS) {
            return rv;
        }
        got += n;
    } while (n > 0);
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    return APR_SUCCESS;
}
