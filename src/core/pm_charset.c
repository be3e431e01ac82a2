/* pm_charset.c — bytes in another character set made UTF-8 while they are read
 * (pm_charset.h): ICU's ucnv_convertEx between the source's converter and
 * UTF-8's, through a pivot of UTF-16, a buffer of input at a time. */
#include "pm_charset.h"

#include <apr_strings.h>
#include <string.h>
#include <unicode/ucnv.h>

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

int pm_charset_is_utf8(const char *name)
{
    UErrorCode err = U_ZERO_ERROR;
    const char *canonical = ucnv_getAlias(name, 0, &err);

    return U_SUCCESS(err) && canonical != NULL && strcmp(canonical, "UTF-8") == 0;
}

pm_charset_reader *pm_charset_reader_make(apr_pool_t *p, const char *name,
                                          pm_charset_read_fn read, void *ctx)
{
    pm_charset_reader *r = apr_pcalloc(p, sizeof(*r));
    UErrorCode err = U_ZERO_ERROR;

    apr_pool_cleanup_register(p, r, close_converters, apr_pool_cleanup_null);
    /* ucnv_open takes "" as the platform's own character set: not a name */
    if (name == NULL || *name == '\0' || ucnv_countAliases(name, &err) == 0 || U_FAILURE(err)) {
        return NULL;
    }
    r->from = ucnv_open(name, &err);
    r->to = U_SUCCESS(err) ? ucnv_open("UTF-8", &err) : NULL;
    if (U_FAILURE(err)) {
        return NULL;
    }
    r->read = read;
    r->ctx = ctx;
    r->in_pos = r->in_end = r->in;
    r->pivot_source = r->pivot_target = r->pivot;
    return r;
}

/* More of the source when what was read is used up: 1, or 0 with *rv its error. */
static int refill(pm_charset_reader *r, apr_status_t *rv)
{
    apr_size_t n = sizeof(r->in);

    if (r->in_pos < r->in_end || r->eof) {
        return 1;
    }
    *rv = r->read(r->ctx, r->in, &n);
    if (*rv == APR_EOF) {
        *rv = APR_SUCCESS;
        n = 0;
    }
    if (*rv != APR_SUCCESS) {
        return 0;
    }
    r->eof = n == 0;
    r->in_pos = r->in;
    r->in_end = r->in + n;
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
        if (pm_charset_read(r, buf + got, &n) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        got += n;
    } while (n > 0);
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    return APR_SUCCESS;
}
