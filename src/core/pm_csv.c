/* pm_csv.c — the RFC 4180 CSV reader: splits a buffer into records and fields,
 * removes quoting, counts physical lines so every record and every quoting error
 * carries the line it starts on. Also the export side: one neutralised cell. */
#include "pm_csv.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <string.h>
#include <strings.h>

struct pm_csv_reader {
    const char *buf;
    apr_size_t len;
    apr_size_t pos;
    unsigned int line;
    int unclosed;           /* a quoted field ran to the end of the buffer */
    int open_quote;         /* ... and was never closed: the reader is at the end */
};

pm_csv_reader *pm_csv_reader_make(apr_pool_t *p, const char *buf, apr_size_t len)
{
    pm_csv_reader *rd = apr_pcalloc(p, sizeof(*rd));

    rd->buf = buf;
    rd->len = len;
    rd->line = 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        rd->pos = 3;
    }
    return rd;
}

void pm_csv_reader_first_line(pm_csv_reader *rd, unsigned int line)
{
    rd->line = line;
    if (line > 1 && rd->pos == 3) {
        rd->pos = 0;            /* mid-stream a byte order mark is data, not a mark */
    }
}

static int holds(const pm_csv_field *f, char c)
{
    return memchr(f->value, c, f->len) != NULL;
}

const char *pm_csv_took_lines(apr_pool_t *p, const pm_csv_record *rec)
{
    int i;

    for (i = 0; rec->end_line > rec->line && i < rec->nfields; i++) {
        if ((holds(&rec->fields[i], '\n') || holds(&rec->fields[i], '\r'))
            && holds(&rec->fields[i], ',')) {
            return apr_psprintf(p, "this row runs over lines %u to %u, and its value %d in "
                                "double quotes holds line breaks and commas: a stray double "
                                "quote took the lines after it into one value (fix the quote; "
                                "those lines are rows)", rec->line, rec->end_line, i + 1);
        }
    }
    return NULL;
}

const char *pm_csv_field_trimmed(apr_pool_t *p, const pm_csv_field *f, apr_size_t *len)
{
    char *out = apr_palloc(p, f->len + 1);
    apr_size_t i, n = 0, start = 0;

    for (i = 0; i < f->len; i++) {
        if (f->value[i] == '\r' && i + 1 < f->len && f->value[i + 1] == '\n') {
            continue;
        }
        out[n++] = (f->value[i] == '\r' || f->value[i] == '\n') ? ' ' : f->value[i];
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
    while (out[start] == ' ') {
        start++;
    }
    *len = n - start;
    return out + start;
}

static int at_line_end(const pm_csv_reader *rd)
{
    return rd->pos >= rd->len || rd->buf[rd->pos] == '\n' || rd->buf[rd->pos] == '\r';
}

/* Steps over one line break (CRLF, LF or a lone CR) at pos, if there is one. */
static void consume_line_end(pm_csv_reader *rd)
{
    if (rd->pos < rd->len && rd->buf[rd->pos] == '\r') {
        rd->pos++;
        if (rd->pos < rd->len && rd->buf[rd->pos] == '\n') {
            rd->pos++;
        }
        rd->line++;
    }
    else if (rd->pos < rd->len && rd->buf[rd->pos] == '\n') {
        rd->pos++;
        rd->line++;
    }
}

/* After a quoting error: drop the rest of the current physical line. */
static void skip_rest_of_line(pm_csv_reader *rd)
{
    while (!at_line_end(rd)) {
        rd->pos++;
    }
    consume_line_end(rd);
}

/* Reads a field that starts with '"'. Returns 0 when the closing quote is
 * missing (the reader is then at the end of the input). */
static int read_quoted(pm_csv_reader *rd, apr_pool_t *p, pm_csv_field *f)
{
    apr_size_t i = rd->pos + 1, n = 0;
    char *out;

    /* first pass: find the closing quote and the unescaped length */
    while (i < rd->len) {
        if (rd->buf[i] == '"') {
            if (i + 1 < rd->len && rd->buf[i + 1] == '"') {
                i += 2;
                n++;
                continue;
            }
            break;
        }
        i++;
        n++;
    }
    if (i >= rd->len) {
        rd->pos = rd->len;
        return 0;
    }
    out = apr_palloc(p, n + 1);
    f->value = out;
    f->len = n;
    /* second pass: copy, turning "" into " and counting line breaks */
    for (rd->pos++; rd->pos < i; rd->pos++) {
        char c = rd->buf[rd->pos];

        if (c == '"') {
            rd->pos++;
        }
        else if (c == '\n' || (c == '\r' && rd->buf[rd->pos + 1] != '\n')) {
            rd->line++;
        }
        *out++ = c;
    }
    *out = '\0';
    rd->pos = i + 1;
    return 1;
}

/* Reads a field without quotes; returns 0 if a '"' appears inside it. */
static int read_unquoted(pm_csv_reader *rd, apr_pool_t *p, pm_csv_field *f)
{
    apr_size_t start = rd->pos;

    while (!at_line_end(rd) && rd->buf[rd->pos] != ',') {
        if (rd->buf[rd->pos] == '"') {
            return 0;
        }
        rd->pos++;
    }
    f->value = apr_pstrmemdup(p, rd->buf + start, rd->pos - start);
    f->len = rd->pos - start;
    return 1;
}

static pm_csv_result quoting_error(pm_csv_reader *rd, const char *msg, unsigned int line,
                                   const char **error, unsigned int *error_line)
{
    *error = msg;
    *error_line = line;
    skip_rest_of_line(rd);
    return PM_CSV_ERROR;
}

int pm_csv_unclosed(const pm_csv_reader *rd)
{
    return rd->unclosed;
}

pm_csv_result pm_csv_next(pm_csv_reader *rd, apr_pool_t *p, pm_csv_record *rec,
                          const char **error, unsigned int *error_line)
{
    apr_array_header_t *fields;
    pm_csv_field *f;
    unsigned int field_line;

    if (rd->pos >= rd->len) {
        return PM_CSV_END;
    }
    fields = apr_array_make(p, 4, sizeof(pm_csv_field));
    rec->line = rd->line;
    for (;;) {
        f = apr_array_push(fields);
        field_line = rd->line;
        if (rd->pos < rd->len && rd->buf[rd->pos] == '"') {
            if (!read_quoted(rd, p, f)) {
                *error = "quoted field is never closed (missing '\"')";
                *error_line = field_line;
                rd->unclosed = rd->open_quote = 1;
                return PM_CSV_ERROR;
            }
            if (!at_line_end(rd) && rd->buf[rd->pos] != ',') {
                rd->unclosed |= rd->line != field_line;
                return quoting_error(rd, rd->line != field_line
                                     ? "a quote opened here closes on a later line and is "
                                       "followed by more text (a quote that was never closed?)"
                                     : "unexpected character after a closing quote "
                                       "(write a quote inside a quoted field as \"\")",
                                     rd->line != field_line ? field_line : rd->line, error,
                                     error_line);
            }
        }
        else if (!read_unquoted(rd, p, f)) {
            return quoting_error(rd, "quote inside a field that does not start with a "
                                 "quote (quote the whole field and double the quote)",
                                 rd->line, error, error_line);
        }
        if (rd->pos < rd->len && rd->buf[rd->pos] == ',') {
            rd->pos++;
            continue;
        }
        rec->end_line = rd->line;
        consume_line_end(rd);
        break;
    }
    rec->fields = (pm_csv_field *)fields->elts;
    rec->nfields = fields->nelts;
    return PM_CSV_RECORD;
}

apr_size_t pm_csv_whole_length(pm_csv_reader *rd, apr_pool_t *p)
{
    apr_size_t whole = 0;
    apr_pool_t *scratch;
    pm_csv_record rec;
    const char *error;
    unsigned int line;
    char last;

    apr_pool_create(&scratch, p);
    while (pm_csv_next(rd, scratch, &rec, &error, &line) != PM_CSV_END && !rd->open_quote) {
        last = rd->buf[rd->pos - 1];
        /* ended by a line end; a CR at the very end may be half of a CRLF */
        if (last == '\n' || (last == '\r' && rd->pos < rd->len)) {
            whole = rd->pos;
        }
        apr_pool_clear(scratch);
    }
    apr_pool_destroy(scratch);
    return whole;
}

/* ---- writing ---------------------------------------------------------------- */

const char *pm_csv_cell(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out, *o;
    int formula;

    if (s == NULL) {
        return "";
    }
    formula = *s && strchr("=+-@\t\r", *s) != NULL;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        return formula ? apr_pstrcat(p, "'", s, NULL) : s;
    }
    out = o = apr_palloc(p, strlen(s) * 2 + 4);
    *o++ = '"';
    if (formula) {
        *o++ = '\'';
    }
    for (c = s; *c; c++) {
        if (*c == '"') {
            *o++ = '"';
        }
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

int pm_csv_header_name(const pm_csv_field *f, const char *const *names)
{
    const char *v = f->value;
    apr_size_t n = f->len;
    int i;

    while (n > 0 && apr_isspace(*v)) {
        v++;
        n--;
    }
    while (n > 0 && apr_isspace(v[n - 1])) {
        n--;
    }
    for (i = 0; names[i]; i++) {
        if (n == strlen(names[i]) && strncasecmp(v, names[i], n) == 0) {
            return i;
        }
    }
    return n == 0 ? -2 : -1;
}

int pm_csv_fits_header(const pm_csv_record *rec, int ncolumns, int nblank)
{
    int i;

    if (rec->nfields < ncolumns || rec->nfields > ncolumns + nblank) {
        return 0;
    }
    for (i = ncolumns; i < rec->nfields; i++) {
        if (rec->fields[i].len > 0) {
            return 0;
        }
    }
    return 1;
}
