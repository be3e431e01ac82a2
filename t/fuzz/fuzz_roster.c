/* fuzz_roster — the roster sync's input side end to end, without a database: the
 * bytes of PUT /admin/roster or `clients sync` (CSV or a FHIR Bundle, optionally
 * through pm_charset's streaming conversion) read by pm_roster_parser into entries
 * and errors. The input's first four bytes choose the format, skip_invalid,
 * discharge_missing, the character set and the chunk sizes; the rest is the file.
 * It is read twice — whole, and in fuzzer-chosen chunks at both the source and the
 * converted side — and both readings must give the same entries, errors, broken
 * flag and read status; every error names a CSV line (>= 1, within the file) or a
 * FHIR entry index (-1 for the document, else below the entries seen); every entry
 * is UTF-8 without control characters; converted text is valid UTF-8.
 * (skip_invalid changes only what pm_roster_apply commits, not what is parsed: the
 * harness checks pm_roster_may_commit's answer is the same both ways.) */
#include "fuzz.h"
#include "pm_charset.h"
#include "pm_roster.h"
#include "pm_text.h"

#define HEAD 4

static const char *const charsets[] = {
    NULL, "utf-8", "windows-1252", "iso-8859-1", "shift_jis", "utf-16le", "utf-16be",
    "macintosh", "gb18030", "utf-32", "iso-2022-jp", "windows-1252", NULL, NULL, NULL, NULL
};

/* A source that hands out the file in pieces: whole (max 0), or 1..max bytes at a
 * time by a small PRNG. */
typedef struct {
    const char *buf;
    apr_size_t len, pos;
    unsigned int max, state;
} pieces;

static apr_size_t piece_len(pieces *s, apr_size_t want)
{
    apr_size_t n;

    if (s->max == 0) {
        return want;
    }
    s->state = s->state * 1103515245u + 12345u;
    n = 1 + (s->state >> 16) % s->max;
    return n < want ? n : want;
}

static apr_status_t read_pieces(void *ctx, char *buf, apr_size_t *len)
{
    pieces *s = ctx;
    apr_size_t n = piece_len(s, *len);

    n = s->len - s->pos < n ? s->len - s->pos : n;
    memcpy(buf, s->buf + s->pos, n);
    s->pos += n;
    *len = n;
    return APR_SUCCESS;
}

/* The parser's side: the converted stream asked for 1..max bytes at a time. */
typedef struct {
    pm_charset_reader *conv;
    pieces *raw;               /* no conversion: the source itself */
    pieces asks;               /* only its max and state are used */
} parser_source;

static apr_status_t read_parser(void *ctx, char *buf, apr_size_t *len)
{
    parser_source *s = ctx;

    *len = piece_len(&s->asks, *len);
    return s->conv ? pm_charset_read(s->conv, buf, len) : read_pieces(s->raw, buf, len);
}

static int utf8_text_ok(const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t i, n;

    if (v == NULL) {
        return 1;
    }
    n = strlen(v);
    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7F) {
            return 0;
        }
    }
    return fuzz_utf8_ok(s, n);
}

/* One reading: everything it gave, as text to compare. */
static const char *read_roster(apr_pool_t *p, const pm_roster_options *o, const char *charset,
                               const char *doc, apr_size_t len, unsigned int source_max,
                               unsigned int parser_max, unsigned int lines)
{
    pieces raw = { doc, len, 0, source_max, source_max * 7u + 1 };
    parser_source src = { NULL, &raw, { NULL, 0, 0, parser_max, parser_max * 13u + 5 } };
    apr_array_header_t *errors = apr_array_make(p, 4, sizeof(pm_roster_error));
    pm_roster_parser *ps;
    pm_roster_entry e;
    pm_roster_result res;
    apr_status_t rv, again;
    char *out = "";
    int r, i, entries = 0, last_where = -2;

    if (charset) {
        src.conv = pm_charset_reader_make(p, charset, read_pieces, &raw);
        check(src.conv != NULL, "ICU knows the harness's character sets");
    }
    ps = pm_roster_parser_make(p, o, read_parser, &src, errors);
    while ((r = pm_roster_next(ps, p, &e, &rv)) == 1) {
        check(++entries <= (int)len + 1, "the parser ends");
        check(e.where > last_where, "entries come in input order");
        last_where = e.where;
        check(o->format == PM_ROSTER_CSV ? e.where >= 2 && (unsigned)e.where <= lines
                                         : e.where >= 0, "an entry names its line or index");
        check(utf8_text_ok(e.external_id) && utf8_text_ok(e.first_name)
              && utf8_text_ok(e.last_name) && utf8_text_ok(e.date_of_birth)
              && utf8_text_ok(e.email) && utf8_text_ok(e.preferred_language),
              "entries are UTF-8 without control characters");
        check(e.external_id && *e.external_id
              && (e.merged_away || (e.first_name && *e.first_name && e.last_name
                                    && *e.last_name && e.date_of_birth
                                    && strlen(e.date_of_birth) == 10)),
              "an entry has its required fields (a merged-away one its chart number)");
        for (i = 0; e.old_ids && i < e.old_ids->nelts; i++) {
            const char *old = APR_ARRAY_IDX(e.old_ids, i, const char *);

            check(old && *old && utf8_text_ok(old), "a retired chart number is UTF-8 text");
        }
        out = apr_psprintf(p, "%sentry %d|%s|%s|%s|%s|%s|%d|%s|%d|%d\n", out, e.where,
                           e.external_id, e.first_name ? e.first_name : "-",
                           e.last_name ? e.last_name : "-",
                           e.date_of_birth ? e.date_of_birth : "-",
                           e.email ? e.email : "-", e.active,
                           e.preferred_language ? e.preferred_language : "-", e.merged_away,
                           e.old_ids ? e.old_ids->nelts : 0);
    }
    check(r == 0 || r == -1, "pm_roster_next answers 1, 0 or -1");
    check(r == 0 || rv != APR_SUCCESS, "a read error has its status");
    check(pm_roster_next(ps, p, &e, &again) == 0 && again == APR_SUCCESS, "the end stays the end");
    for (i = 0; i < errors->nelts; i++) {
        const pm_roster_error *x = &APR_ARRAY_IDX(errors, i, pm_roster_error);

        check(x->message && *x->message, "an error has a message");
        if (o->format == PM_ROSTER_CSV) {
            check(x->where >= 1 && (unsigned)x->where <= lines, "a CSV error names a line");
        }
        else {
            check(x->where >= -1 && x->where < (int)len, "a FHIR error names an entry index");
        }
        out = apr_psprintf(p, "%serror %d|%s|%s\n", out, x->where, x->field ? x->field : "-",
                           x->message);
    }
    for (i = 0; i < pm_roster_notes(ps)->nelts; i++) {
        const char *note = APR_ARRAY_IDX(pm_roster_notes(ps), i, const char *);

        check(pm_utf8_valid(note, strlen(note), 0), "a note is UTF-8 without control characters");
        out = apr_psprintf(p, "%snote %s\n", out, note);
    }
    check(pm_roster_notes(ps)->nelts <= 21, "at most 20 notes and how many more");
    out = apr_psprintf(p, "%signored %d\n", out, pm_roster_ignored(ps));
    res.errors = errors;
    res.broken = pm_roster_broken(ps);
    check(!res.broken || errors->nelts > 0 || r < 0, "a broken input says why (or its "
          "read error does)");
    return apr_psprintf(p, "%sresult %d status %d broken %d may_commit %d\n", out, r,
                        r < 0 ? rv : 0, res.broken, pm_roster_may_commit(o, &res));
}

/* Physical lines of text as the CSV side counts them (CRLF, LF or a lone CR), plus
 * the one a last line without an end is on. */
static unsigned int count_lines(const char *b, apr_size_t n)
{
    unsigned int lines = 1;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        lines += b[i] == '\n' || (b[i] == '\r' && (i + 1 >= n || b[i + 1] != '\n'));
    }
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    pm_roster_options o;
    const char *charset, *whole, *chunked, *doc;
    char *text;
    apr_size_t len, text_len;
    unsigned int lines;
    apr_status_t crv;

    if (size < HEAD) {
        return 0;
    }
    p = fuzz_pool();
    memset(&o, 0, sizeof(o));
    o.format = data[0] & 1 ? PM_ROSTER_FHIR : PM_ROSTER_CSV;
    o.skip_invalid = (data[0] >> 1) & 1;
    o.discharge_missing = (data[0] >> 2) & 1;
    o.identifier_system = (data[0] >> 3) & 1 ? "urn:oid:1.2.3" : NULL;
    o.now = 1796601600;                    /* 2026-12-07 */
    charset = charsets[data[0] >> 4];
    doc = (const char *)data + HEAD;
    len = size - HEAD;

    /* the text the parser sees: converted whole, valid UTF-8 */
    if (charset) {
        crv = pm_charset_convert(p, charset, doc, len, &text, &text_len);
        check(crv == APR_SUCCESS || crv == PM_CHARSET_IS_UTF8, "a conversion succeeds or "
              "says the text is UTF-8");
        if (crv == APR_SUCCESS) {
            check(fuzz_utf8_ok((const unsigned char *)text, text_len),
                  "converted text is valid UTF-8");
            check(text[text_len] == '\0', "converted text is NUL-terminated");
        }
        /* the text is UTF-8 already: what was read before that was found is ASCII */
        lines = count_lines(crv == APR_SUCCESS ? text : doc, crv == APR_SUCCESS ? text_len : len);
    }
    else {
        lines = count_lines(doc, len);
    }

    whole = read_roster(p, &o, charset, doc, len, 0, 0, lines);
    chunked = read_roster(p, &o, charset, doc, len, 1 + data[1],
                          1 + data[2] + 256u * (data[3] & 0x0F), lines);
    if (getenv("FUZZ_ROSTER_DUMP")) {         /* what a reading gave, to look at an input */
        fputs(whole, stderr);
    }
    if (strcmp(whole, chunked) != 0) {
        fprintf(stderr, "--- whole\n%s--- chunked\n%s", whole, chunked);
    }
    check(strcmp(whole, chunked) == 0, "whole and chunked readings agree");
    apr_pool_destroy(p);
    return 0;
}
